// One test per folder under fixtures/preprocess/<processor>/<case>/: the HF reference output of the
// processor on images loaded as pipelines load them, and (where present) on un-converted images.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadImage } from '../image/load-image.js';
import type { Tensor } from '../tensor/tensor.js';
import { readSafetensors } from '../weights/safetensors.js';
import { createImageProcessor } from './image-processor.js';

const ROOT = fileURLToPath(new URL('../../../../fixtures/preprocess/', import.meta.url));
// The Pillow-exact cases are held to 1e-6; a case.json may give its own atol (DINOv3's float resize: 2e-6).
const DEFAULT_TOLERANCE = 1e-6;

interface FixtureCase {
  name: string;
  dir: string;
  images: string[];
  atol: number;
}

function listCases(): FixtureCase[] {
  const cases: FixtureCase[] = [];
  for (const processor of readdirSync(ROOT).sort()) {
    if (processor === 'images') continue;
    for (const name of readdirSync(join(ROOT, processor)).sort()) {
      const dir = join(ROOT, processor, name);
      const meta = JSON.parse(readFileSync(join(dir, 'case.json'), 'utf8')) as { images: string[]; atol?: number };
      cases.push({ name: `${processor}/${name}`, dir, images: meta.images.map((p) => join(dir, p)), atol: meta.atol ?? DEFAULT_TOLERANCE });
    }
  }
  return cases;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

function expectPixelValues(actual: Tensor, expected: Tensor, label: string, atol: number): number {
  expect(actual.shape).toEqual(expected.shape);
  const diff = maxAbsDiff(actual.data as Float32Array, expected.data as Float32Array);
  expect(diff, `${label}: max |diff| ${diff}`).toBeLessThanOrEqual(atol);
  return diff;
}

const cases = listCases();

describe('preprocessing matches transformers on fixtures/preprocess', () => {
  it('finds the fixture cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(15);
  });

  for (const c of cases) {
    it(c.name, async () => {
      const config = JSON.parse(readFileSync(join(c.dir, 'preprocessor_config.json'), 'utf8'));
      const processor = createImageProcessor(config);
      const expected = readSafetensors(readFileSync(join(c.dir, 'expected.safetensors'))).tensors;
      const out = await processor.process(c.images);
      const diff = expectPixelValues(out.pixel_values, expected.get('pixel_values') as Tensor, c.name, c.atol);
      const expectedMask = expected.get('pixel_mask');
      if (expectedMask) {
        // The fixture stores the mask as uint8 to save space; the processor's own dtype is int64.
        expect(out.pixel_mask?.dtype).toBe('int64');
        expect(Array.from(out.pixel_mask?.data as BigInt64Array, Number)).toEqual(Array.from(expectedMask.data as Uint8Array));
      } else {
        expect(out.pixel_mask).toBeUndefined();
      }
      console.info(`[preprocess fixture] ${c.name}: max |diff| = ${diff}`);

      const rawPath = join(c.dir, 'expected_raw_mode.safetensors');
      if (existsSync(rawPath)) {
        // The un-converted PIL image (L or RGBA) straight into the processor. fixtures/README says
        // do_convert_rgb composites RGBA onto white, but the reference bytes show transformers v4.49
        // dropping alpha exactly as load_image does, so the same decoded RGB must reproduce them.
        const raw = readSafetensors(readFileSync(rawPath)).tensors.get('pixel_values') as Tensor;
        const images = await Promise.all(c.images.map((p) => loadImage(p)));
        const rawDiff = expectPixelValues(processor.processImages(images).pixel_values, raw, `${c.name} (raw mode)`, c.atol);
        console.info(`[preprocess fixture] ${c.name} raw mode: max |diff| = ${rawDiff}`);
      }
    });
  }
});
