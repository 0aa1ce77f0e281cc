import type { GraphBuilder } from '../graph/graph-builder.js';
import {
  add,
  cast,
  div,
  equal,
  floor,
  gather,
  gatherNd,
  gridSample,
  matMul,
  max,
  min,
  mul,
  reduceSum,
  reshape,
  slice,
  sub,
  transpose,
} from '../graph/ops.js';
import type { Value } from '../graph/value.js';
import { Tensor } from '../tensor/tensor.js';

/** How multi-scale deformable attention samples its value maps; the graph records which one its builder was given. */
export type DeformableSamplingKernelName = GraphBuilder['deformableSamplingKernel'];

export interface SamplingArgs {
  /** [B, S, C], projected (and masked). */
  value: Value;
  /** [B, Q, H, L, P, 2] (x, y), in pixels of its level for reference points, else in box units. */
  offsets: Value;
  /** [B, Q, L, 2] (x, y) or [B, Q, L, 4] (x, y, w, h), in [0, 1]. */
  referencePoints: Value;
  /** [B, Q, H, L, P], softmaxed over L·P. */
  weights: Value;
  levelShapes: ReadonlyArray<readonly [number, number]>;
  numHeads: number;
  queries: number;
}

/** Σ over levels and points of weight · bilinear sample (zeros padding, align_corners=False) → [B, Q, C]. */
type SamplingKernel = (g: GraphBuilder, args: SamplingArgs) => Value;

const FLOAT = 1;
const INT32 = 6;
const INT64 = 7;

const floats = (g: GraphBuilder, values: readonly number[], shape: readonly number[], hint: string) =>
  g.constant(new Tensor('float32', Float32Array.from(values), shape), hint);

/**
 * Sampling locations in [0, 1], elementwise as torch computes them: reference points
 * `ref + offset / size`, boxes `center + offset / P · box size · 0.5`. Callers lay the operands out
 * so that the per-level and per-query broadcasts run over long contiguous spans.
 */
function locate(g: GraphBuilder, offsets: Value, center: Value, boxSize: Value | undefined, levelSize: Value, points: number): Value {
  if (!boxSize) return add(g, center, div(g, offsets, levelSize));
  const perPoint = div(g, offsets, floats(g, [points], [], 'num_points'));
  return add(g, center, mul(g, mul(g, perPoint, boxSize), floats(g, [0.5], [], 'half')));
}

/**
 * torch's own path: per level, GridSample of the [B·H, Dh, h, w] map at a [B·H, P, Q, 2] grid,
 * weighted and summed over points. Locations are computed in [B, H, L, P, Q, 2] so the reference
 * points broadcast over whole rows of queries.
 */
const gridSampleKernel: SamplingKernel = (g, { value, offsets, referencePoints, weights, levelShapes, numHeads: heads, queries }) => {
  const c = value.shape[2] as number;
  const d = c / heads;
  const levels = levelShapes.length;
  const points = offsets.shape[4] as number;
  const ref = transpose(g, referencePoints, [0, 2, 1, 3]); // [B, L, Q, 2|4]
  const refPart = (from: number) => reshape(g, slice(g, ref, [from], [from + 2], [-1]), [0, 1, levels, 1, queries, 2]);
  const levelSize = floats(
    g,
    levelShapes.flatMap(([h, w]) => [w, h]),
    [levels, 1, 1, 2],
    'level_wh',
  );
  const boxSize = referencePoints.shape[3] === 4 ? refPart(2) : undefined;
  const loc = locate(g, transpose(g, offsets, [0, 2, 3, 4, 1, 5]), refPart(0), boxSize, levelSize, points); // [B, H, L, P, Q, 2]
  const grid = sub(g, mul(g, loc, floats(g, [2], [], 'two')), floats(g, [1], [], 'one'));
  const grids = reshape(g, grid, [-1, levels, points, queries, 2]); // [B·H, L, P, Q, 2]
  const levelWeights = reshape(g, transpose(g, weights, [0, 2, 3, 4, 1]), [-1, levels, 1, points, queries]); // [B·H, L, 1, P, Q]
  const channelsFirst = transpose(g, value, [0, 2, 1]); // [B, C, S]
  let sum: Value | undefined;
  let start = 0;
  levelShapes.forEach(([h, w], l) => {
    const map = reshape(g, slice(g, channelsFirst, [start], [start + h * w], [2]), [-1, d, h, w]);
    start += h * w;
    const sampled = gridSample(g, map, gather(g, grids, l, 1), { paddingMode: 'zeros', alignCorners: false }); // [B·H, Dh, P, Q]
    const weighted = reduceSum(g, mul(g, sampled, gather(g, levelWeights, l, 1)), [2], false); // [B·H, Dh, Q]
    sum = sum ? add(g, sum, weighted) : weighted;
  });
  return transpose(g, reshape(g, sum as Value, [-1, c, queries]), [0, 2, 1]);
};

/**
 * The same sum from plain ops, for backends without GridSample at the graph's opset: the four corners
 * of every sampling point as GatherND rows of the [B·H, S, Dh] value table (indices clamped onto the
 * map, their weight zeroed where the corner is off it), each corner's bilinear × attention weights
 * contracted with its rows by one MatMul over levels × points. x and y are handled apart, laid out
 * [B, H, L, P, Q], so per-level constants broadcast over whole rows; pixel coordinates are
 * unnormalized as torch does, ((2·loc − 1 + 1)·size − 1) / 2, so both kernels see the same points.
 */
const gatherKernel: SamplingKernel = (g, { value, offsets, referencePoints, weights, levelShapes, numHeads: heads, queries }) => {
  const [, tokens, c] = value.shape as [unknown, number, number];
  const d = c / heads;
  const levels = levelShapes.length;
  const points = offsets.shape[4] as number;
  const perLevel = (f: (h: number, w: number, start: number) => number, hint: string, dtype: 'float32' | 'int32' = 'float32') => {
    let start = 0;
    const values = levelShapes.map(([h, w]) => {
      const v = f(h, w, start);
      start += h * w;
      return v;
    });
    if (dtype === 'int32') return g.constant(new Tensor('int32', Int32Array.from(values), [levels, 1, 1]), hint);
    return floats(g, values, [levels, 1, 1], hint);
  };
  const table = reshape(g, transpose(g, reshape(g, value, [0, 0, heads, d]), [0, 2, 1, 3]), [-1, tokens, d]); // [B·H, S, Dh]
  const byAxis = transpose(g, offsets, [5, 0, 2, 3, 4, 1]); // [2, B, H, L, P, Q]
  const ref = transpose(g, referencePoints, [3, 0, 2, 1]); // [2|4, B, L, Q]
  const refAxis = (i: number) => reshape(g, gather(g, ref, i, 0), [0, 1, levels, 1, queries]); // [B, 1, L, 1, Q]
  const attn = transpose(g, weights, [0, 2, 3, 4, 1]); // [B, H, L, P, Q]
  const [one, two, zero] = [floats(g, [1], [], 'one'), floats(g, [2], [], 'two'), floats(g, [0], [], 'zero')];

  /** One axis: the lower and upper corner's clamped coordinate and weight (0 where it is off the map). */
  const corners = (axis: 0 | 1) => {
    const size = perLevel((h, w) => (axis === 0 ? w : h), axis === 0 ? 'level_w' : 'level_h');
    const boxSize = referencePoints.shape[3] === 4 ? refAxis(axis + 2) : undefined;
    const loc = locate(g, gather(g, byAxis, axis, 0), refAxis(axis), boxSize, size, points);
    const grid = sub(g, mul(g, loc, two), one);
    const pixel = div(g, sub(g, mul(g, add(g, grid, one), size), one), two);
    const low = floor(g, pixel);
    const high = add(g, low, one);
    const last = perLevel((h, w) => (axis === 0 ? w : h) - 1, axis === 0 ? 'level_last_x' : 'level_last_y');
    const side = (corner: Value, weight: Value) => {
      const clamped = min(g, max(g, corner, zero), last);
      // The clamped coordinate is a small integer, exact even in fp16; token indices (up to S) are not, so they are int32.
      const at = cast(g, clamped, 'int32', INT32);
      return { at, weight: mul(g, weight, cast(g, equal(g, clamped, corner), 'float32', FLOAT)) };
    };
    // As torch's bilinear weights: the lower corner weighs (high − pixel), the upper one (pixel − low).
    return [side(low, sub(g, high, pixel)), side(high, sub(g, pixel, low))];
  };
  const xs = corners(0).map(({ at, weight }) => ({ at, weight: mul(g, weight, attn) }));
  const rowStride = perLevel((_h, w) => w, 'level_w', 'int32');
  const levelStart = perLevel((_h, _w, start) => start, 'level_start', 'int32');
  const ys = corners(1).map(({ at, weight }) => ({ row: add(g, mul(g, at, rowStride), levelStart), weight }));

  let sum: Value | undefined;
  for (const y of ys) {
    for (const x of xs) {
      const qMajor = (v: Value) => transpose(g, v, [0, 1, 4, 2, 3]); // [B, H, Q, L, P]
      const cornerWeights = reshape(g, qMajor(mul(g, x.weight, y.weight)), [-1, queries, 1, levels * points]);
      const index = reshape(g, cast(g, qMajor(add(g, y.row, x.at)), 'int64', INT64), [-1, queries * levels * points, 1]);
      const rows = reshape(g, gatherNd(g, table, index, 1), [-1, queries, levels * points, d]); // [B·H, Q, L·P, Dh]
      const contribution = matMul(g, cornerWeights, rows); // [B·H, Q, 1, Dh]
      sum = sum ? add(g, sum, contribution) : contribution;
    }
  }
  const heads4 = reshape(g, sum as Value, [-1, heads, queries, d]);
  return reshape(g, transpose(g, heads4, [0, 2, 1, 3]), [0, 0, c]);
};

export const DEFORMABLE_SAMPLING_KERNELS: Record<DeformableSamplingKernelName, SamplingKernel> = {
  'grid-sample': gridSampleKernel,
  gather: gatherKernel,
};
