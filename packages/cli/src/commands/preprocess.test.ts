import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isVitkitError, readSafetensors } from '@vitkit/core';
import { Command } from 'commander';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { registerPreprocess } from './preprocess.js';

const FIXTURES = fileURLToPath(new URL('../../../../fixtures/preprocess/', import.meta.url));
const CASE = join(FIXTURES, 'DetrImageProcessor-small/batch-cats-synthetic');
const IMAGES = [join(FIXTURES, 'images/cats.png'), join(FIXTURES, 'images/synthetic_97x61.png')];

async function cli(args: string[]): Promise<void> {
  const program = new Command('vitkit').exitOverride();
  registerPreprocess(program);
  await program.parseAsync(['node', 'vitkit', 'preprocess', ...args]);
}

describe('vitkit preprocess', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vitkit-preprocess-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes pixel_values and pixel_mask matching the reference, mask dtype as asked', async () => {
    const expected = readSafetensors(readFileSync(join(CASE, 'expected.safetensors'))).tensors;
    for (const maskDtype of ['int64', 'uint8'] as const) {
      const out = join(dir, `${maskDtype}.safetensors`);
      await cli([...IMAGES, '--config', join(CASE, 'preprocessor_config.json'), '--out', out, '--mask-dtype', maskDtype]);
      const file = readSafetensors(readFileSync(out));
      expect(file.metadata).toEqual({ format: 'pt' });
      const pixels = file.tensors.get('pixel_values');
      expect(pixels?.shape).toEqual(expected.get('pixel_values')?.shape);
      const ref = expected.get('pixel_values')?.data as Float32Array;
      const actual = pixels?.data as Float32Array;
      let max = 0;
      for (let i = 0; i < ref.length; i++) max = Math.max(max, Math.abs(actual[i] - ref[i]));
      expect(max).toBeLessThanOrEqual(1e-6);
      const mask = file.tensors.get('pixel_mask');
      expect(mask?.dtype).toBe(maskDtype);
      expect(Array.from(mask?.data as ArrayLike<number | bigint>, Number)).toEqual(
        Array.from(expected.get('pixel_mask')?.data as Uint8Array),
      );
    }
    expect(readdirSync(dir).sort()).toEqual(['int64.safetensors', 'uint8.safetensors']);
  });

  it('runs DINOv3ViTImageProcessorFast (float resize) within its 2e-6 of the reference', async () => {
    const dinov3 = join(FIXTURES, 'DINOv3ViTImageProcessorFast/batch-cats-synthetic');
    const out = join(dir, 'dinov3.safetensors');
    await cli([...IMAGES, '--config', join(dinov3, 'preprocessor_config.json'), '--out', out]);
    const expected = readSafetensors(readFileSync(join(dinov3, 'expected.safetensors'))).tensors.get('pixel_values');
    const pixels = readSafetensors(readFileSync(out)).tensors.get('pixel_values');
    expect(pixels?.shape).toEqual([2, 3, 224, 224]);
    const ref = expected?.data as Float32Array;
    const actual = pixels?.data as Float32Array;
    let max = 0;
    for (let i = 0; i < ref.length; i++) max = Math.max(max, Math.abs(actual[i] - ref[i]));
    expect(max).toBeLessThanOrEqual(2e-6);
  });

  it('leaves no file behind when an image cannot be decoded', async () => {
    const bad = join(dir, 'bad.png');
    writeFileSync(bad, 'not a png');
    const out = join(dir, 'out.safetensors');
    const error = await cli([IMAGES[0], bad, '--config', join(CASE, 'preprocessor_config.json'), '--out', out]).catch((e: unknown) => e);
    expect(isVitkitError(error, 'IMAGE_UNDECODABLE')).toBe(true);
    expect(readdirSync(dir)).toEqual(['bad.png']);
  });

  it('leaves no temp file behind when the output cannot be written', async () => {
    const out = join(dir, 'missing-folder', 'out.safetensors');
    const error = await cli([IMAGES[0], '--config', join(CASE, 'preprocessor_config.json'), '--out', out]).catch((e: unknown) => e);
    expect(isVitkitError(error)).toBe(true);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('reports config problems with their codes', async () => {
    const config = join(dir, 'config.json');
    writeFileSync(config, '{ nope');
    const out = join(dir, 'o.safetensors');
    expect(
      isVitkitError(await cli([IMAGES[0], '--config', config, '--out', out]).catch((e: unknown) => e), 'PROCESSOR_CONFIG_INVALID'),
    ).toBe(true);
    writeFileSync(config, JSON.stringify({ image_processor_type: 'SamImageProcessor' }));
    expect(isVitkitError(await cli([IMAGES[0], '--config', config, '--out', out]).catch((e: unknown) => e), 'PROCESSOR_UNSUPPORTED')).toBe(
      true,
    );
    expect(
      isVitkitError(await cli([IMAGES[0], '--config', join(dir, 'none.json'), '--out', out]).catch((e: unknown) => e), 'FILE_NOT_FOUND'),
    ).toBe(true);
  });
});
