import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadImage } from '@vitkit/core';
import { fixturePath } from '@vitkit/test-support';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { legendSvg, runSegment, type SegmentCommandOptions, tintSegments } from './segment.js';

const workDir = mkdtempSync(join(tmpdir(), 'vitkit-segment-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));
const MODEL = fixturePath('detr_panoptic/resnet-basic');
const CATS = fixturePath('preprocess/images/cats.png');
const SYNTHETIC = fixturePath('preprocess/images/synthetic_97x61.png');
const options = (o: Partial<SegmentCommandOptions> = {}): SegmentCommandOptions => ({
  model: MODEL,
  task: 'panoptic',
  threshold: 0.3,
  maskThreshold: 0.5,
  overlap: 0.5,
  device: 'cpu',
  ...o,
});

describe('vitkit segment', () => {
  it('draws an overlay at each image size: segment pixels tinted, the rest untouched, a legend naming the labels', async () => {
    const out = join(workDir, 'seg.png');
    const results = await runSegment([CATS, SYNTHETIC], options({ out, fuse: '3,4,5' }));
    expect(results.map((r) => r.drawn)).toEqual([join(workDir, 'seg-1.png'), join(workDir, 'seg-2.png')]);
    for (const r of results) {
      const meta = await sharp(readFileSync(r.drawn!)).metadata();
      expect([meta.width, meta.height]).toEqual([r.width, r.height]);
    }
    const [cats] = results;
    expect(cats.result.segments.length).toBeGreaterThan(0);
    const image = await loadImage(CATS);
    const tinted = tintSegments(image, cats.result);
    const map = cats.result.segmentation.data as Int32Array;
    const known = new Set(cats.result.segments.map((s) => s.id));
    let changed = 0;
    for (let p = 0; p < map.length; p++) {
      const same = [0, 1, 2].every((c) => tinted[3 * p + c] === image.data[3 * p + c]);
      if (!known.has(map[p])) expect(same, `pixel ${p} outside every segment`).toBe(true);
      else if (!same) changed++;
    }
    expect(changed).toBeGreaterThan(0);
    const legend = legendSvg(image.width, image.height, cats.result);
    for (const s of cats.result.segments) expect(legend).toContain(s.label);
  });

  it('semantic maps list each class with its share of the image', async () => {
    const [r] = await runSegment([SYNTHETIC], options({ task: 'semantic' }));
    expect(r.result.segments.reduce((n, s) => n + s.area, 0)).toBe(r.width * r.height);
    expect(legendSvg(r.width, r.height, r.result)).toMatch(/%/);
  });

  it('refuses bad flags before loading anything', async () => {
    await expect(runSegment([CATS], options({ threshold: 2 }))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(runSegment([CATS], options({ fuse: 'sky' }))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(runSegment([CATS], options({ task: 'depth' as 'panoptic' }))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(runSegment([], options())).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('a detection checkpoint has no segment(): MODEL_TYPE_UNSUPPORTED', async () => {
    await expect(runSegment([CATS], options({ model: fixturePath('detr/resnet-basic') }))).rejects.toMatchObject({
      code: 'MODEL_TYPE_UNSUPPORTED',
    });
  });
});
