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
  /** [B, Q, H, L, P, 2] (x, y) in [0, 1]. */
  locations: Value;
  /** [B, Q, H, L, P], softmaxed over L·P. */
  weights: Value;
  levelShapes: ReadonlyArray<readonly [number, number]>;
  numHeads: number;
  queries: number;
}

/** Σ over levels and points of weight · bilinear sample (zeros padding, align_corners=False) → [B, Q, C]. */
type SamplingKernel = (g: GraphBuilder, args: SamplingArgs) => Value;

const FLOAT = 1;
const INT64 = 7;

const floats = (g: GraphBuilder, values: readonly number[], shape: readonly number[], hint: string) =>
  g.constant(new Tensor('float32', Float32Array.from(values), shape), hint);

/** torch's own path: per level, GridSample of the [B·H, Dh, h, w] map at the [B·H, Q, P, 2] grid, weighted and summed over points. */
const gridSampleKernel: SamplingKernel = (g, { value, locations, weights, levelShapes, numHeads: heads, queries }) => {
  const c = value.shape[2] as number;
  const d = c / heads;
  const levels = levelShapes.length;
  const points = locations.shape[4] as number;
  const channelsFirst = transpose(g, value, [0, 2, 1]); // [B, C, S]
  const grid = sub(g, mul(g, locations, floats(g, [2], [], 'two')), floats(g, [1], [], 'one'));
  const grids = reshape(g, transpose(g, grid, [0, 2, 3, 1, 4, 5]), [-1, levels, queries, points, 2]); // [B·H, L, Q, P, 2]
  const levelWeights = reshape(g, transpose(g, weights, [0, 2, 3, 1, 4]), [-1, levels, 1, queries, points]); // [B·H, L, 1, Q, P]
  let sum: Value | undefined;
  let start = 0;
  levelShapes.forEach(([h, w], l) => {
    const map = reshape(g, slice(g, channelsFirst, [start], [start + h * w], [2]), [-1, d, h, w]);
    start += h * w;
    const sampled = gridSample(g, map, gather(g, grids, l, 1), { paddingMode: 'zeros', alignCorners: false }); // [B·H, Dh, Q, P]
    const weighted = reduceSum(g, mul(g, sampled, gather(g, levelWeights, l, 1)), [-1], false); // [B·H, Dh, Q]
    sum = sum ? add(g, sum, weighted) : weighted;
  });
  return transpose(g, reshape(g, sum as Value, [-1, c, queries]), [0, 2, 1]);
};

/**
 * The same sum from plain ops, for backends without GridSample at the graph's opset: the four corners
 * of every sampling point as GatherND rows of the [B·H, S, Dh] value table (indices clamped onto the
 * map, their weight zeroed where the corner is off it), each corner's bilinear × attention weights
 * contracted with its rows by one MatMul over levels × points. Pixel coordinates are unnormalized as
 * torch does, ((2·loc − 1 + 1)·size − 1) / 2, so both kernels see the same points.
 */
const gatherKernel: SamplingKernel = (g, { value, locations, weights, levelShapes, numHeads: heads, queries }) => {
  const [, tokens, c] = value.shape as [unknown, number, number];
  const d = c / heads;
  const levels = levelShapes.length;
  const points = locations.shape[4] as number;
  const perLevel = (f: (h: number, w: number, start: number) => number[], hint: string) => {
    let start = 0;
    const values = levelShapes.flatMap(([h, w]) => {
      const v = f(h, w, start);
      start += h * w;
      return v;
    });
    return floats(g, values, [levels, 1, values.length / levels], hint);
  };
  const table = reshape(g, transpose(g, reshape(g, value, [0, 0, heads, d]), [0, 2, 1, 3]), [-1, tokens, d]); // [B·H, S, Dh]
  const loc = transpose(g, locations, [0, 2, 1, 3, 4, 5]); // [B, H, Q, L, P, 2]
  const attn = reshape(g, transpose(g, weights, [0, 2, 1, 3, 4]), [0, 0, 0, 0, 0, 1]); // [B, H, Q, L, P, 1]
  const grid = sub(g, mul(g, loc, floats(g, [2], [], 'two')), floats(g, [1], [], 'one'));
  const size = perLevel((h, w) => [w, h], 'level_wh');
  const pixel = div(g, sub(g, mul(g, add(g, grid, floats(g, [1], [], 'one')), size), floats(g, [1], [], 'one')), floats(g, [2], [], 'two'));
  const low = floor(g, pixel);
  const high = add(g, low, floats(g, [1], [], 'one'));
  // Per axis, the lower corner weighs (high − pixel), the upper one (pixel − low), as torch's bilinear weights.
  const lowWeight = sub(g, high, pixel);
  const highWeight = sub(g, pixel, low);
  const last = perLevel((h, w) => [w - 1, h - 1], 'level_max_xy');
  const rowStride = perLevel((_h, w) => [1, w], 'level_stride');
  const levelStart = perLevel((_h, _w, start) => [start], 'level_start');
  const zero = floats(g, [0], [], 'zero');

  let sum: Value | undefined;
  for (const [dx, dy] of [
    [0, 0],
    [1, 0],
    [0, 1],
    [1, 1],
  ]) {
    const corner = add(g, low, floats(g, [dx, dy], [2], 'corner'));
    const clamped = min(g, max(g, corner, zero), last);
    const onMap = cast(g, equal(g, clamped, corner), 'float32', FLOAT);
    // (x weight, y weight) of this corner, zero on an axis where the corner is off the map.
    const pick = floats(g, [dx, dy], [2], 'pick');
    const keep = floats(g, [1 - dx, 1 - dy], [2], 'keep');
    const axisWeights = mul(g, add(g, mul(g, lowWeight, keep), mul(g, highWeight, pick)), onMap);
    const bilinear = mul(g, slice(g, axisWeights, [0], [1], [-1]), slice(g, axisWeights, [1], [2], [-1]));
    const cornerWeights = reshape(g, mul(g, bilinear, attn), [-1, queries, 1, levels * points]); // [B·H, Q, 1, L·P]
    const row = add(g, reduceSum(g, mul(g, clamped, rowStride), [-1], true), levelStart); // [B, H, Q, L, P, 1]
    const rows = gatherNd(g, table, reshape(g, cast(g, row, 'int64', INT64), [-1, queries * levels * points, 1]), 1);
    const contribution = matMul(g, cornerWeights, reshape(g, rows, [-1, queries, levels * points, d])); // [B·H, Q, 1, Dh]
    sum = sum ? add(g, sum, contribution) : contribution;
  }
  const heads4 = reshape(g, sum as Value, [-1, heads, queries, d]);
  return reshape(g, transpose(g, heads4, [0, 2, 1, 3]), [0, 0, c]);
};

export const DEFORMABLE_SAMPLING_KERNELS: Record<DeformableSamplingKernelName, SamplingKernel> = {
  'grid-sample': gridSampleKernel,
  gather: gatherKernel,
};
