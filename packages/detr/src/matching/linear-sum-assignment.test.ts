import { isVitkitError } from '@vitkit/core';
import { describe, expect, it } from 'vitest';
import { linearSumAssignment } from './linear-sum-assignment.js';

/** mulberry32: a tiny seeded PRNG so the random cases are the same on every run. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Smallest total over every way to give each row of the shorter side a distinct partner. */
function bruteForceMinimum(cost: number[][]): number {
  const rows = cost.length;
  const cols = rows === 0 ? 0 : cost[0].length;
  if (rows === 0 || cols === 0) return 0;
  const tall = rows > cols;
  const n = tall ? cols : rows;
  const m = tall ? rows : cols;
  const at = (i: number, j: number) => (tall ? cost[j][i] : cost[i][j]);
  const used = new Array<boolean>(m).fill(false);
  let best = Number.POSITIVE_INFINITY;
  const recurse = (i: number, sum: number) => {
    if (i === n) {
      best = Math.min(best, sum);
      return;
    }
    for (let j = 0; j < m; j++) {
      if (used[j]) continue;
      used[j] = true;
      recurse(i + 1, sum + at(i, j));
      used[j] = false;
    }
  };
  recurse(0, 0);
  return best;
}

function expectValidAssignment(cost: number[][], rowIndices: number[], colIndices: number[]): void {
  const rows = cost.length;
  const cols = rows === 0 ? 0 : cost[0].length;
  expect(rowIndices.length).toBe(Math.min(rows, cols));
  expect(colIndices.length).toBe(rowIndices.length);
  // scipy's convention: rows ascending (hence distinct), columns distinct and in range.
  for (let k = 1; k < rowIndices.length; k++) expect(rowIndices[k]).toBeGreaterThan(rowIndices[k - 1]);
  expect(new Set(colIndices).size).toBe(colIndices.length);
  for (const r of rowIndices) expect(r >= 0 && r < rows).toBe(true);
  for (const c of colIndices) expect(c >= 0 && c < cols).toBe(true);
}

describe('linearSumAssignment', () => {
  it('is optimal against brute force on seeded random float matrices of many shapes', () => {
    const random = seededRandom(2024);
    let checked = 0;
    for (let rows = 0; rows <= 6; rows++) {
      for (let cols = 0; cols <= 6; cols++) {
        for (let trial = 0; trial < 8; trial++) {
          // Mix scales and signs: DETR costs are negative and positive floats.
          const scale = trial % 2 === 0 ? 1 : 100;
          const cost = Array.from({ length: rows }, () => Array.from({ length: cols }, () => (random() * 2 - 1) * scale));
          const result = linearSumAssignment(cost);
          expectValidAssignment(cost, result.rowIndices, result.colIndices);
          const total = result.rowIndices.reduce((s, r, k) => s + cost[r][result.colIndices[k]], 0);
          expect(total).toBeCloseTo(bruteForceMinimum(cost), 9);
          expect(result.totalCost).toBeCloseTo(total, 12);
          checked++;
        }
      }
    }
    expect(checked).toBe(7 * 7 * 8);
  });

  it('is optimal on small integer matrices full of ties', () => {
    const random = seededRandom(7);
    for (let trial = 0; trial < 300; trial++) {
      const rows = 1 + Math.floor(random() * 6);
      const cols = 1 + Math.floor(random() * 6);
      const cost = Array.from({ length: rows }, () => Array.from({ length: cols }, () => Math.floor(random() * 3)));
      const result = linearSumAssignment(cost);
      expectValidAssignment(cost, result.rowIndices, result.colIndices);
      expect(result.totalCost).toBe(bruteForceMinimum(cost));
    }
  });

  it('breaks ties exactly as scipy.optimize.linear_sum_assignment does', () => {
    // [cost, row_ind, col_ind] from scipy 1.17.1 (same rectangular_lsap solver as the 1.10.1 that
    // produced the DETR fixtures); integer costs with many equal-cost optima.
    const cases: [number[][], number[], number[]][] = [
      [
        [
          [2, 1, 2],
          [2, 1, 2],
          [2, 0, 0],
        ],
        [0, 1, 2],
        [1, 0, 2],
      ],
      [
        [
          [0, 0, 2, 2],
          [0, 1, 2, 0],
          [2, 0, 1, 2],
          [0, 1, 0, 2],
        ],
        [0, 1, 2, 3],
        [0, 3, 1, 2],
      ],
      [
        [
          [0, 2, 1, 1, 1],
          [1, 1, 1, 2, 2],
          [2, 2, 1, 1, 2],
        ],
        [0, 1, 2],
        [0, 1, 2],
      ],
      [
        [
          [1, 0, 2],
          [0, 2, 1],
          [0, 0, 1],
          [0, 0, 1],
          [2, 1, 2],
        ],
        [0, 1, 2],
        [1, 0, 2],
      ],
      [
        [
          [2, 2, 1, 1, 1, 0],
          [1, 1, 0, 2, 0, 0],
          [0, 2, 2, 2, 0, 2],
          [1, 1, 0, 1, 2, 1],
        ],
        [0, 1, 2, 3],
        [5, 4, 0, 2],
      ],
      [
        [
          [0, 1, 0, 2],
          [2, 0, 1, 2],
          [2, 2, 1, 0],
          [2, 1, 0, 0],
          [1, 2, 1, 1],
          [2, 2, 1, 1],
        ],
        [0, 1, 2, 3],
        [0, 1, 3, 2],
      ],
      [
        [
          [1, 0, 0, 1, 1],
          [1, 0, 0, 0, 1],
          [2, 1, 1, 1, 2],
          [1, 1, 1, 1, 1],
          [1, 1, 2, 2, 0],
        ],
        [0, 1, 2, 3, 4],
        [1, 2, 3, 0, 4],
      ],
      [
        [
          [1, 1, 1, 1],
          [1, 1, 1, 1],
          [1, 1, 1, 1],
          [1, 1, 1, 1],
        ],
        [0, 1, 2, 3],
        [0, 1, 2, 3],
      ],
      [
        [
          [0, 0, 0, 0, 0],
          [0, 0, 0, 0, 0],
          [0, 0, 0, 0, 0],
        ],
        [0, 1, 2],
        [0, 1, 2],
      ],
      [
        [
          [0, 0, 0],
          [0, 0, 0],
          [0, 0, 0],
          [0, 0, 0],
          [0, 0, 0],
        ],
        [0, 1, 2],
        [0, 1, 2],
      ],
    ];
    for (const [cost, rowInd, colInd] of cases) {
      const result = linearSumAssignment(cost);
      expect([result.rowIndices, result.colIndices]).toEqual([rowInd, colInd]);
    }
    // maximize=True, from the same scipy.
    const profit = [
      [1, 1, 1, 0, 0],
      [1, 2, 0, 1, 2],
      [2, 0, 0, 2, 0],
      [0, 1, 2, 0, 1],
    ];
    const best = linearSumAssignment(profit, { maximize: true });
    expect([best.rowIndices, best.colIndices, best.totalCost]).toEqual([[0, 1, 2, 3], [0, 1, 3, 2], 7]);
  });

  it('lists a tall matrix by its rows, ascending, with the skipped rows left out', () => {
    // Rows 0 and 2 are cheap in different columns; row 1 is expensive everywhere and must go.
    const result = linearSumAssignment([
      [1, 9],
      [8, 8],
      [9, 1],
    ]);
    expect(result).toEqual({ rowIndices: [0, 2], colIndices: [0, 1], totalCost: 2 });
  });

  it('returns empty index lists for empty matrices in either direction', () => {
    expect(linearSumAssignment([])).toEqual({ rowIndices: [], colIndices: [], totalCost: 0 });
    expect(linearSumAssignment([[], [], []])).toEqual({ rowIndices: [], colIndices: [], totalCost: 0 });
    expect(linearSumAssignment({ data: new Float32Array(0), rows: 0, cols: 4 })).toEqual({ rowIndices: [], colIndices: [], totalCost: 0 });
  });

  it('accepts a flat row-major matrix and avoids infinite (forbidden) cells', () => {
    const inf = Number.POSITIVE_INFINITY;
    const result = linearSumAssignment({ data: [inf, 5, 1, inf, 2, 3], rows: 2, cols: 3 });
    // row 0 = [inf, 5, 1], row 1 = [inf, 2, 3]: column 0 is forbidden, so the options are
    // (0->1, 1->2) = 8 and (0->2, 1->1) = 3.
    expect(result).toEqual({ rowIndices: [0, 1], colIndices: [2, 1], totalCost: 3 });
  });

  it('refuses NaN, -Infinity, infeasible and ragged matrices with VitkitErrors', () => {
    const inf = Number.POSITIVE_INFINITY;
    expect(() => linearSumAssignment([[Number.NaN]])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => linearSumAssignment([[Number.NEGATIVE_INFINITY, 1]])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() =>
      linearSumAssignment([
        [inf, inf],
        [1, 2],
      ]),
    ).toThrow(/infeasible/);
    expect(() => linearSumAssignment([[1, 2], [3]])).toThrow(expect.objectContaining({ code: 'TENSOR_SHAPE_MISMATCH' }));
    try {
      linearSumAssignment({ data: [1, 2, 3], rows: 2, cols: 2 });
      expect.unreachable();
    } catch (error) {
      expect(isVitkitError(error, 'TENSOR_SHAPE_MISMATCH')).toBe(true);
    }
  });
});
