import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VitkitError } from '@vitkit/core';
import { fixturePath, readFixtureJson } from '@vitkit/test-support';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { runDetect } from './detect.js';

const workDir = mkdtempSync(join(tmpdir(), 'vitkit-detect-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));
const MODEL = fixturePath('detr/resnet-basic');
const CATS = fixturePath('preprocess/images/cats.png');
const SYNTHETIC = fixturePath('preprocess/images/synthetic_97x61.png');

describe('vitkit detect', () => {
  it('runs two images as one padded batch and draws each at its own size', async () => {
    const queries = readFixtureJson<{ num_queries: number }>('detr/resnet-basic/config.json').num_queries;
    const out = join(workDir, 'boxes.png');
    const results = await runDetect([CATS, SYNTHETIC], { model: MODEL, threshold: 0, device: 'cpu', out });
    expect(results.map((r) => [r.width, r.height])).toEqual([
      [640, 480],
      [97, 61],
    ]);
    for (const r of results) {
      expect(r.detections).toHaveLength(queries); // threshold 0 keeps every query
      for (const d of r.detections) expect(d.box.every(Number.isFinite)).toBe(true);
      const meta = await sharp(readFileSync(r.drawn!)).metadata();
      expect([meta.width, meta.height]).toEqual([r.width, r.height]);
    }
    expect(results[0].drawn).toBe(join(workDir, 'boxes-1.png'));
  });

  it('draws what a prompt names with a Grounding DINO checkpoint folder, and asks for a prompt without one', async () => {
    const gd = fixturePath('grounding_dino/swin-bert-tiny');
    const out = join(workDir, 'grounded.png');
    const [result] = await runDetect([CATS], { model: gd, prompt: 'a cat. a remote control.', threshold: 0, device: 'cpu', out });
    expect(result.detections.length).toBe(
      readFixtureJson<{ num_queries: number }>('grounding_dino/swin-bert-tiny/config.json').num_queries,
    );
    expect(result.detections.every((d) => d.label.length > 0 && d.labelId === undefined)).toBe(true);
    const meta = await sharp(readFileSync(result.drawn!)).metadata();
    expect([meta.width, meta.height]).toEqual([640, 480]);
    await expect(runDetect([CATS], { model: gd, device: 'cpu' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('refuses a prompt for a class detector, and an empty prompt', async () => {
    await expect(runDetect([CATS], { model: MODEL, prompt: 'a cat.', device: 'cpu' })).rejects.toMatchObject({
      code: 'MODEL_TYPE_UNSUPPORTED',
    });
    await expect(runDetect([CATS], { model: MODEL, prompt: '  ', device: 'cpu' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('refuses a threshold outside 0..1', async () => {
    await expect(runDetect([CATS], { model: MODEL, threshold: 2, device: 'cpu' })).rejects.toBeInstanceOf(VitkitError);
  });
});
