import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadImage } from '@vitkit/core';
import { fixturePath, readFixtureJson, readFixtureTensors } from '@vitkit/test-support';
import { afterAll, describe, expect, it } from 'vitest';
import { GroundingDino } from './grounding-dino-model.js';

const CASE = 'grounding_dino/swin-bert-tiny';
const CATS = fixturePath('preprocess/images/cats.jpg');
const SMALL = fixturePath('preprocess/images/synthetic_97x61.png');
const work = mkdtempSync(join(tmpdir(), 'vitkit-gd-detect-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('GroundingDino.detect / tokenize (the user API)', () => {
  it('tokenize reproduces the fixture’s text inputs from its prompts, with the checkpoint’s own vocab.txt', async () => {
    const model = await GroundingDino.fromPretrained(fixturePath(CASE), { device: 'cpu' });
    try {
      const text = await model.tokenize(['a cat. a remote control.', 'a dog.']);
      const want = readFixtureTensors(`${CASE}/input.safetensors`);
      for (const name of ['input_ids', 'attention_mask', 'token_type_ids'] as const) {
        expect(text[name].shape, name).toEqual(want.get(name)?.shape);
        expect(Array.from(text[name].data as BigInt64Array), name).toEqual(Array.from(want.get(name)?.data as BigInt64Array));
      }
    } finally {
      await model.dispose();
    }
  });

  it('detects on real photos of different sizes as one batch: labels from the prompt, boxes in each photo’s pixels', async () => {
    const model = await GroundingDino.fromPretrained(fixturePath(CASE), { device: 'cpu' });
    const queries = readFixtureJson<{ num_queries: number }>(`${CASE}/config.json`).num_queries;
    try {
      const images = await Promise.all([loadImage(CATS), loadImage(SMALL)]);
      const all = await model.detect(images, ['a cat', 'a remote control'], { threshold: 0, textThreshold: 0 });
      expect(all).toHaveLength(2);
      const words = new Set(['a', 'cat', 'remote', 'control', '.', '[SEP]']);
      for (const [i, detections] of all.entries()) {
        expect(detections).toHaveLength(queries); // threshold 0 keeps every query
        for (const d of detections) {
          expect(d.score).toBeGreaterThan(0);
          for (const w of d.label.replace(/\./g, ' . ').split(/\s+/).filter(Boolean)) expect(words.has(w), d.label).toBe(true);
          expect(d.box.every(Number.isFinite)).toBe(true);
          // cx, cy in [0, 1] (a sigmoid): the box centre lies within the photo.
          const [x0, y0, x1, y1] = d.box;
          expect((x0 + x1) / 2).toBeGreaterThanOrEqual(0);
          expect((x0 + x1) / 2).toBeLessThanOrEqual(images[i].width);
          expect((y0 + y1) / 2).toBeLessThanOrEqual(images[i].height);
        }
      }
      // A higher threshold keeps a subset, with the same scores.
      const kept = await model.detect(images, 'a cat. a remote control.', { threshold: 0.5 });
      for (const [i, detections] of kept.entries()) {
        expect(detections.every((d) => d.score > 0.5)).toBe(true);
        expect(detections.length).toBe(all[i].filter((d) => d.score > 0.5).length);
      }
    } finally {
      await model.dispose();
    }
  });

  it('names a checkpoint without tokenizer files (TOKENIZER_CONFIG_INVALID) and a prompt list of the wrong length', async () => {
    const dir = join(work, 'no-vocab');
    rmSync(dir, { recursive: true, force: true });
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir);
    for (const f of ['config.json', 'model.safetensors']) copyFileSync(fixturePath(`${CASE}/${f}`), join(dir, f));
    const model = await GroundingDino.fromPretrained(dir, { device: 'cpu' });
    try {
      await expect(model.detect(CATS, 'a cat.')).rejects.toMatchObject({ code: 'TOKENIZER_CONFIG_INVALID' });
    } finally {
      await model.dispose();
    }
    const ok = await GroundingDino.fromPretrained(fixturePath(CASE), { device: 'cpu' });
    try {
      await expect(ok.detect([CATS, SMALL], 'a cat.', { perImagePrompts: ['a cat.'] })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
    } finally {
      await ok.dispose();
    }
  });
});
