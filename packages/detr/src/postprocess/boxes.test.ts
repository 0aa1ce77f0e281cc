import { describe, expect, it } from 'vitest';
import { boxArea, boxIouAndUnion, centerToCorners, generalizedBoxIou, generalizedBoxIouMatrix } from './boxes.js';

describe('box helpers', () => {
  it('converts centre form to corners', () => {
    expect(centerToCorners([0.5, 0.5, 0.2, 0.4])).toEqual([0.4, 0.3, 0.6, 0.7]);
    expect(boxArea([1, 2, 4, 6])).toBe(12);
  });

  it('computes IoU and GIoU on hand-checked pairs', () => {
    // Identical boxes: IoU 1, enclosing box = union, GIoU 1.
    expect(generalizedBoxIou([0, 0, 2, 2], [0, 0, 2, 2])).toBe(1);
    // [0,0,2,2] vs [1,0,3,2]: intersection 2, union 6 -> IoU 1/3; enclosing [0,0,3,2] = 6 = union -> GIoU 1/3.
    expect(boxIouAndUnion([0, 0, 2, 2], [1, 0, 3, 2])).toEqual({ iou: 2 / 6, union: 6 });
    expect(generalizedBoxIou([0, 0, 2, 2], [1, 0, 3, 2])).toBeCloseTo(1 / 3, 12);
    // Disjoint [0,0,1,1] vs [2,0,3,1]: IoU 0, union 2, enclosing [0,0,3,1] = 3 -> GIoU 0 - 1/3.
    expect(generalizedBoxIou([0, 0, 1, 1], [2, 0, 3, 1])).toBeCloseTo(-1 / 3, 12);
    // Far apart diagonally: GIoU tends to -1.
    expect(generalizedBoxIou([0, 0, 1, 1], [99, 99, 100, 100])).toBeCloseTo(-1 + 2 / 10000, 12);
  });

  it('builds the pairwise matrix and refuses inverted (centre-form) boxes', () => {
    const m = generalizedBoxIouMatrix(
      [
        [0, 0, 2, 2],
        [0, 0, 1, 1],
      ],
      [[1, 0, 3, 2]],
    );
    expect(m.length).toBe(2);
    expect(m[0][0]).toBeCloseTo(1 / 3, 12);
    // [0,0,1,1] vs [1,0,3,2]: touch only, IoU 0; union 5; enclosing [0,0,3,2] = 6 -> -1/6.
    expect(m[1][0]).toBeCloseTo(-1 / 6, 12);
    expect(() => generalizedBoxIouMatrix([[0.5, 0.5, 0.2, 0.2]], [[0, 0, 1, 1]])).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});
