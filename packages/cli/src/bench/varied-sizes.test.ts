import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { percentile } from './statistics.js';
import { runVariedSizes, variedSizes } from './varied-sizes.js';

const DETR = fileURLToPath(new URL('../../../../fixtures/detr/resnet-basic', import.meta.url));

describe('varied sizes', () => {
  it('draws distinct sizes inside the ranges, the same for the same seed', () => {
    const sizes = variedSizes(30, [600, 1000], [700, 1100]);
    expect(sizes).toHaveLength(30);
    expect(new Set(sizes.map(([h, w]) => `${h}x${w}`)).size).toBe(30);
    for (const [h, w] of sizes) {
      expect(h).toBeGreaterThanOrEqual(600);
      expect(h).toBeLessThanOrEqual(1000);
      expect(w).toBeGreaterThanOrEqual(700);
      expect(w).toBeLessThanOrEqual(1100);
    }
    expect(variedSizes(30, [600, 1000], [700, 1100])).toEqual(sizes);
    expect(variedSizes(30, [600, 1000], [700, 1100], 2)).not.toEqual(sizes);
  });

  it('refuses what it cannot measure: fewer than 2 images, more sizes than the ranges hold, bad ranges', () => {
    expect(() => variedSizes(1, [600, 1000], [700, 1100])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => variedSizes(5, [64, 65], [64, 65])).toThrow(/do not fit/);
    expect(() => variedSizes(3, [100, 50], [64, 65])).toThrow(/lo ≤ hi/);
  });

  it('feeds each size twice through model.run (with pixel_mask) in this process and reports memory and new-size cost', async () => {
    const heights: [number, number] = [64, 96];
    const widths: [number, number] = [64, 112];
    const r = await runVariedSizes({ model: DETR, name: 'detr-fixture', count: 6, heights, widths });
    const sizes = variedSizes(6, heights, widths);
    expect(r).toMatchObject({
      model: 'detr-fixture',
      architecture: 'DetrForObjectDetection',
      backend: 'cpu',
      dtype: 'fp32',
      images: 6,
      inputs: ['pixel_values', 'pixel_mask'],
      maxSessions: 4,
    });
    expect(r.perImage.map((p) => [p.height, p.width])).toEqual(sizes);
    // One graph per size on this branch, bounded by the model's LRU: never more than maxSessions held.
    expect(r.sessionsHeld).toBeGreaterThanOrEqual(1);
    expect(r.sessionsHeld).toBeLessThanOrEqual(r.maxSessions);
    for (const p of r.perImage) {
      expect(p.firstMs).toBeGreaterThan(0);
      expect(p.repeatMs).toBeGreaterThan(0);
      expect(p.rssMb).toBeGreaterThan(10);
    }
    expect(r.rssAfterSecondMb).toBe(r.perImage[1].rssMb);
    expect(r.rssAfterLastMb).toBe(r.perImage[5].rssMb);
    expect(r.rssRatio).toBeCloseTo(r.rssAfterLastMb / r.rssAfterSecondMb, 2);
    const first = percentile(
      r.perImage.map((p) => p.firstMs),
      50,
    );
    const again = percentile(
      r.perImage.map((p) => p.repeatMs),
      50,
    );
    expect(r.firstSeenMedianMs).toBeCloseTo(first, 1);
    expect(r.repeatMedianMs).toBeCloseTo(again, 1);
    expect(r.newSizeRatio).toBeCloseTo(first / again, 2);
    expect(r.targets).toEqual({ rssRatio: 1.15, newSizeRatio: 1.2 });
  });
});
