import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isVitkitError } from '../errors/vitkit-error.js';
import { loadImage } from '../image/load-image.js';
import { readSafetensors } from '../weights/safetensors.js';
import { createImageProcessor, ViTImageProcessor } from './image-processor.js';
import { resampleFloat } from './resample-float.js';
import { filterTaps, Resample } from './resample-pillow.js';

const CASE = fileURLToPath(new URL('../../../../fixtures/preprocess/DINOv3ViTImageProcessorFast/cats.png/', import.meta.url));
const CATS = fileURLToPath(new URL('../../../../fixtures/preprocess/images/cats.png', import.meta.url));

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

describe('filterTaps', () => {
  it('in float32 stays close to the float64 (Pillow) taps but is not them at 640 -> 224 (the ratio is no binary fraction)', () => {
    const f64 = filterTaps(640, 224, Resample.BILINEAR, 'float64');
    const f32 = filterTaps(640, 224, Resample.BILINEAR, 'float32');
    expect(Array.from(f32.bounds)).toEqual(Array.from(f64.bounds));
    const diff = maxAbsDiff(f32.weights, f64.weights);
    expect(diff).toBeGreaterThan(0);
    expect(diff).toBeLessThan(1e-4);
  });

  it('normalises each output sample to sum 1', () => {
    const { ksize, bounds, weights } = filterTaps(97, 224, Resample.BICUBIC, 'float32');
    for (let o = 0; o < 224; o++) {
      let sum = 0;
      for (let j = 0; j < bounds[o * 2 + 1]; j++) sum += weights[o * ksize + j];
      expect(sum).toBeCloseTo(1, 6);
    }
  });
});

describe('resampleFloat', () => {
  it('keeps a constant image constant and does not clamp overshoot (bicubic on a step)', () => {
    const constant = { planes: [new Float32Array(30 * 20).fill(0.25)], width: 30, height: 20 };
    const out = resampleFloat(constant, 11, 7, Resample.BILINEAR);
    expect(out.planes[0].length).toBe(77);
    for (const v of out.planes[0]) expect(v).toBeCloseTo(0.25, 6);
    // A 0/1 step upscaled with bicubic rings below 0 and above 1: the 8-bit path would clip, torch does not.
    const step = { planes: [Float32Array.from({ length: 8 }, (_, i) => (i < 4 ? 0 : 1))], width: 8, height: 1 };
    const ringing = resampleFloat(step, 32, 1, Resample.BICUBIC).planes[0];
    expect(Math.min(...ringing)).toBeLessThan(0);
    expect(Math.max(...ringing)).toBeGreaterThan(1);
  });

  it('skips a pass whose size does not change (same size: the values themselves)', () => {
    const planes = [Float32Array.from({ length: 12 }, (_, i) => i / 7)];
    expect(Array.from(resampleFloat({ planes, width: 4, height: 3 }, 4, 3, Resample.BILINEAR).planes[0])).toEqual(Array.from(planes[0]));
  });

  it('refuses filters torch does not antialias and bad sizes', () => {
    const image = { planes: [new Float32Array(4)], width: 2, height: 2 };
    expect(
      isVitkitError(
        catchError(() => resampleFloat(image, 3, 3, Resample.LANCZOS)),
        'INVALID_ARGUMENT',
      ),
    ).toBe(true);
    expect(
      isVitkitError(
        catchError(() => resampleFloat(image, 0, 3, Resample.BILINEAR)),
        'INVALID_ARGUMENT',
      ),
    ).toBe(true);
    expect(
      isVitkitError(
        catchError(() => resampleFloat({ ...image, width: 3 }, 4, 4, Resample.BILINEAR)),
        'INVALID_ARGUMENT',
      ),
    ).toBe(true);
  });
});

describe('DINOv3ViTImageProcessorFast', () => {
  it('is what its golden needs: the Pillow (uint8) processor with the same settings misses it by far more than 2e-6', async () => {
    const config = JSON.parse(readFileSync(`${CASE}preprocessor_config.json`, 'utf8'));
    const expected = readSafetensors(readFileSync(`${CASE}expected.safetensors`)).tensors.get('pixel_values')?.data as Float32Array;
    const image = await loadImage(CATS);
    const fast = createImageProcessor(config);
    expect(fast.type).toBe('DINOv3ViTImageProcessorFast');
    expect(maxAbsDiff(fast.processImages(image).pixel_values.data, expected)).toBeLessThanOrEqual(2e-6);
    const pillow = new ViTImageProcessor({ ...config, image_processor_type: 'ViTImageProcessor' });
    expect(maxAbsDiff(pillow.processImages(image).pixel_values.data, expected)).toBeGreaterThan(1e-3);
  });

  it('refuses settings it does not implement, with PROCESSOR_CONFIG_INVALID', () => {
    for (const extra of [{ do_center_crop: true }, { resample: Resample.LANCZOS }, { size: { shortest_edge: 224 } }]) {
      const error = catchError(() => createImageProcessor({ image_processor_type: 'DINOv3ViTImageProcessorFast', ...extra }));
      expect(isVitkitError(error, 'PROCESSOR_CONFIG_INVALID'), JSON.stringify(extra)).toBe(true);
    }
  });
});

function catchError(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}
