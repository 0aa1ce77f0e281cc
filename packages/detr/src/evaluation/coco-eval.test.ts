import { Tensor } from '@vitkit/core';
import { describe, expect, it } from 'vitest';
import { postProcessObjectDetection } from '../postprocess/object-detection.js';
import { type CocoImage, evaluateCoco } from './coco-eval.js';

// Boxes are corners (x0, y0, x1, y1) unless a test says otherwise. Areas: 10x10 = 100 is small
// (< 32² = 1024), 50x50 = 2500 medium, 100x100 = 10000 large (> 96² = 9216).
const large = [0, 0, 100, 100];

/**
 * Like pycocotools, precision is tp / (tp + fp + 2^-52), so a perfect score comes out as
 * 0.9999999999999998: compare to 12 decimals.
 */
function expectNumbers(actual: number[], expected: number[]): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((value, i) => {
    expect(value).toBeCloseTo(expected[i], 12);
  });
}

describe('evaluateCoco on hand-checked cases', () => {
  it('one perfect detection: AP and AR 1 everywhere it applies, -1 for areas without ground truth', () => {
    const result = evaluateCoco([{ groundTruth: [{ label: 1, box: large }], detections: [{ label: 1, score: 0.9, box: large }] }]);
    expectNumbers(result.stats, [1, 1, 1, -1, -1, 1, 1, 1, 1, -1, -1, 1]);
    expect(result.ap).toBeCloseTo(1, 12);
    expect([...result.perCategoryAp.keys()]).toEqual([1]);
    expect(result.perCategoryAp.get(1)).toBeCloseTo(1, 12);
  });

  it('IoU just under 0.6 matches at 2 of 10 thresholds (0.50, 0.55): AP = AR = 0.2', () => {
    // gt [0,0,100,100] vs det [0,0,100,59]: IoU 5900/10000 = 0.59.
    const result = evaluateCoco([
      { groundTruth: [{ label: 0, box: large }], detections: [{ label: 0, score: 0.5, box: [0, 0, 100, 59] }] },
    ]);
    // Matched thresholds: precision 1 at all 101 recall points; others: no recall, precision 0.
    expect(result.ap).toBeCloseTo(0.2, 12);
    expect(result.ap50).toBeCloseTo(1, 12);
    expect(result.ap75).toBe(0);
    expect(result.ar100).toBeCloseTo(0.2, 12);
  });

  it('IoU exactly 0.6 also matches at the 0.60 threshold (IoU >= t), so AP = 0.3', () => {
    // 6000/10000 is the double 0.6 and numpy's linspace puts exactly 0.6 third, so 3 of 10 match.
    const result = evaluateCoco([
      { groundTruth: [{ label: 0, box: large }], detections: [{ label: 0, score: 0.5, box: [0, 0, 100, 60] }] },
    ]);
    expect(result.ap).toBeCloseTo(0.3, 12);
  });

  it('one of two objects found: recall 0.5, precision 1 up to recall 0.50 -> AP = 51/101', () => {
    const result = evaluateCoco([
      {
        groundTruth: [
          { label: 0, box: large },
          { label: 0, box: [200, 200, 300, 300] },
        ],
        detections: [{ label: 0, score: 0.9, box: large }],
      },
    ]);
    // Recall points 0.00 … 0.50 (51 of 101) get precision 1, the rest 0.
    expect(result.ap).toBeCloseTo(51 / 101, 12);
    expect(result.ar100).toBe(0.5);
  });

  it('ranks by score: a higher-scored false positive halves the precision; maxDets caps recall', () => {
    const image: CocoImage = {
      groundTruth: [{ label: 0, box: large }],
      detections: [
        { label: 0, score: 0.8, box: large },
        { label: 0, score: 0.9, box: [500, 500, 600, 600] },
      ],
    };
    const result = evaluateCoco([image]);
    // Ranked FP then TP: recall [0, 1], precision [0, 0.5] -> envelope [0.5, 0.5] -> AP 0.5.
    expect(result.ap).toBeCloseTo(0.5, 12);
    // With one detection per image only the false positive counts.
    expect(result.ar1).toBe(0);
    expect(result.ar10).toBeCloseTo(1, 12);
    // Swap the scores and the true positive comes first: AP 1.
    const swapped = evaluateCoco([{ ...image, detections: image.detections.map((d) => ({ ...d, score: 1.7 - d.score })) }]);
    expect(swapped.ap).toBeCloseTo(1, 12);
  });

  it('pools detections across images by score; a duplicate on a matched object is a false positive', () => {
    const result = evaluateCoco([
      {
        groundTruth: [{ label: 0, box: large }],
        detections: [
          { label: 0, score: 0.9, box: large },
          { label: 0, score: 0.8, box: [1, 1, 100, 100] },
        ],
      },
      { groundTruth: [{ label: 0, box: [10, 10, 110, 110] }], detections: [{ label: 0, score: 0.7, box: [10, 10, 110, 110] }] },
    ]);
    // Ranked TP, FP (the duplicate), TP over 2 objects: recall [.5, .5, 1], precision [1, .5, 2/3]
    // -> envelope [1, 2/3, 2/3]: 51 points at 1 and 50 at 2/3 -> AP = (51 + 100/3) / 101.
    expect(result.ap).toBeCloseTo((51 + 100 / 3) / 101, 10);
    expect(result.ar100).toBeCloseTo(1, 12);
  });

  it('matches only within a category unless useCategories is false', () => {
    const images: CocoImage[] = [{ groundTruth: [{ label: 0, box: large }], detections: [{ label: 3, score: 0.9, box: large }] }];
    const result = evaluateCoco(images);
    // Category 0: its object is missed (AP 0); category 3 has no ground truth (-1, not averaged).
    expect(result.ap).toBe(0);
    expect([...result.perCategoryAp.keys()]).toEqual([0]);
    expect(evaluateCoco(images, { useCategories: false }).ap).toBeCloseTo(1, 12);
  });

  it('splits by area: a small object counts only in "small"; unmatched detections outside a range are ignored there', () => {
    const small = [0, 0, 10, 10];
    const result = evaluateCoco([
      {
        groundTruth: [{ label: 0, box: small }],
        detections: [
          { label: 0, score: 0.9, box: [200, 200, 300, 300] }, // large false positive, ranked first
          { label: 0, score: 0.8, box: small },
        ],
      },
    ]);
    // All areas: FP then TP -> AP 0.5 (as above).
    expect(result.ap).toBeCloseTo(0.5, 12);
    // Small: the large unmatched detection is out of range, so ignored -> AP 1.
    expect(result.apSmall).toBeCloseTo(1, 12);
    expect(result.arSmall).toBeCloseTo(1, 12);
    // No medium or large ground truth: -1.
    expect([result.apMedium, result.apLarge, result.arMedium, result.arLarge]).toEqual([-1, -1, -1, -1]);
  });

  it('uses a given ground-truth area (COCO segmentation area) for the split instead of the box area', () => {
    const result = evaluateCoco([
      { groundTruth: [{ label: 0, box: large, area: 2000 }], detections: [{ label: 0, score: 0.9, box: large }] },
    ]);
    expectNumbers([result.apMedium, result.apLarge], [1, -1]);
  });

  it('ignores detections on crowd regions (IoU over the detection area) and crowd ground truth in recall', () => {
    const result = evaluateCoco([
      {
        groundTruth: [
          { label: 0, box: large },
          { label: 0, box: [200, 0, 600, 400], iscrowd: true },
        ],
        detections: [
          { label: 0, score: 0.95, box: [250, 50, 300, 100] }, // inside the crowd: IoU 1 by crowd rules
          { label: 0, score: 0.9, box: [300, 100, 350, 150] }, // also inside: crowds absorb many
          { label: 0, score: 0.8, box: large },
        ],
      },
    ]);
    // Only the regular object counts (npig = 1) and both crowd detections are ignored: AP 1.
    expect(result.ap).toBeCloseTo(1, 12);
    expect(result.ar100).toBeCloseTo(1, 12);
    // Without the crowd flag the region is an object of its own: the two detections inside it are
    // too small (IoU 2500/160000) to match it, so they are false positives ranked first.
    const withoutCrowd = evaluateCoco([
      {
        groundTruth: [
          { label: 0, box: large },
          { label: 0, box: [200, 0, 600, 400] },
        ],
        detections: [
          { label: 0, score: 0.95, box: [250, 50, 300, 100] },
          { label: 0, score: 0.9, box: [300, 100, 350, 150] },
          { label: 0, score: 0.8, box: large },
        ],
      },
    ]);
    // FP, FP, TP of 2 objects: recall [0, 0, .5], precision [0, 0, 1/3] -> envelope 1/3 up to recall .5.
    expect(withoutCrowd.ap).toBeCloseTo((51 / 101) * (1 / 3), 10);
  });

  it('keeps a match to a counted object rather than moving it to a better-overlapping crowd', () => {
    // Object and crowd cover the same square; the detection covers its top 80%. IoU with the object
    // is 0.8; with the crowd 8000/8000 = 1. Up to t = 0.80 (7 thresholds) it stays on the object
    // (a true positive); above, only the crowd is reachable and the detection is ignored.
    const result = evaluateCoco([
      {
        groundTruth: [
          { label: 0, box: large, iscrowd: true },
          { label: 0, box: large },
        ],
        detections: [{ label: 0, score: 0.9, box: [0, 0, 100, 80] }],
      },
    ]);
    expect(result.ap).toBeCloseTo(0.7, 12);
    expect(result.ar100).toBeCloseTo(0.7, 12);
  });

  it('accepts COCO xywh boxes', () => {
    const result = evaluateCoco(
      [{ groundTruth: [{ label: 0, box: [10, 10, 100, 100] }], detections: [{ label: 0, score: 0.9, box: [10, 10, 100, 59] }] }],
      {
        boxFormat: 'xywh',
      },
    );
    expect(result.ap).toBeCloseTo(0.2, 12);
  });

  it('gives -1 everywhere without ground truth, and counts images with only detections as false positives', () => {
    expect(evaluateCoco([{ groundTruth: [], detections: [{ label: 0, score: 0.9, box: large }] }]).stats).toEqual(new Array(12).fill(-1));
    const result = evaluateCoco([
      { groundTruth: [{ label: 0, box: large }], detections: [{ label: 0, score: 0.5, box: large }] },
      { groundTruth: [], detections: [{ label: 0, score: 0.9, box: large }] },
    ]);
    expect(result.ap).toBeCloseTo(0.5, 12);
  });

  it('takes postProcessObjectDetection detections as they are', () => {
    // One query, class 0 with high probability, box centred in a 100x200 (h x w) image.
    const [image] = postProcessObjectDetection(
      { logits: Tensor.fromFloat32([5, 0, 0], [1, 1, 3]), pred_boxes: Tensor.fromFloat32([0.5, 0.5, 0.5, 0.5], [1, 1, 4]) },
      { targetSizes: [[100, 200]] },
    );
    const result = evaluateCoco([{ groundTruth: [{ label: 0, box: [50, 25, 150, 75] }], detections: image.detections }]);
    expect(result.ap).toBeCloseTo(1, 12);
  });

  it('refuses malformed boxes, NaN scores and bad maxDets', () => {
    expect(() => evaluateCoco([{ groundTruth: [{ label: 0, box: [0, 0, 1] }], detections: [] }])).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => evaluateCoco([{ groundTruth: [], detections: [{ label: 0, score: Number.NaN, box: large }] }])).toThrow(/NaN score/);
    expect(() => evaluateCoco([], { maxDets: [0, 10, 100] })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
