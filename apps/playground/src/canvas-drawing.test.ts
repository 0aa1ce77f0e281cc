import { describe, expect, it } from 'vitest';
import { maskOverlay, patchSimilarities, segmentColor, similarityOverlay } from './canvas-drawing.js';

describe('patchSimilarities', () => {
  it('is the dot product of unit rows: 1 for the patch itself, the cosine for the others', () => {
    const s = Math.SQRT1_2;
    // Three patches of 2 channels: (1, 0), (0, 1), (s, s).
    const features = new Float32Array([1, 0, 0, 1, s, s]);
    const sims = patchSimilarities(features, 3, 2, 2);
    expect(sims[2]).toBeCloseTo(1, 6);
    expect(sims[0]).toBeCloseTo(s, 6);
    expect(sims[1]).toBeCloseTo(s, 6);
    expect([...patchSimilarities(features, 3, 2, 0)].map((v) => Number(v.toFixed(6)))).toEqual([1, 0, Number(s.toFixed(6))]);
  });
});

describe('similarityOverlay', () => {
  it('colours each patch by its value and outlines the selected one', () => {
    const view = { data: new Uint8Array(4 * 4 * 3).fill(128), width: 4, height: 4 };
    // A 2x2 grid over a 4x4 image: top-left patch 1 (red), bottom-right -1 (blue).
    const out = similarityOverlay(view, new Float32Array([1, 0, 0, -1]), 2, 2, 3);
    const px = (x: number, y: number) => [...out.data.subarray((y * 4 + x) * 3, (y * 4 + x) * 3 + 3)];
    expect(px(0, 0)[0]).toBeGreaterThan(px(0, 0)[2]);
    // The selected patch's pixels all lie on its 2x2 block's edge: outlined black.
    expect(px(3, 3)).toEqual([0, 0, 0]);
    expect(px(2, 2)).toEqual([0, 0, 0]);
  });
});

describe('maskOverlay', () => {
  it('tints segment pixels and leaves id 0 and -1 as they were', () => {
    const image = { data: new Uint8Array([10, 20, 30, 10, 20, 30, 10, 20, 30]), width: 3, height: 1 };
    const out = maskOverlay(image, new Int32Array([0, -1, 4]), 3, 1);
    expect([...out.data.subarray(0, 6)]).toEqual([10, 20, 30, 10, 20, 30]);
    const [r, g, b] = segmentColor(4);
    expect([...out.data.subarray(6, 9)]).toEqual([
      Math.round(10 * 0.45 + r * 0.55),
      Math.round(20 * 0.45 + g * 0.55),
      Math.round(30 * 0.45 + b * 0.55),
    ]);
    // The input is not changed.
    expect([...image.data.subarray(6, 9)]).toEqual([10, 20, 30]);
  });

  it('gives neighbouring ids different colours', () => {
    expect(segmentColor(1)).not.toEqual(segmentColor(2));
  });
});
