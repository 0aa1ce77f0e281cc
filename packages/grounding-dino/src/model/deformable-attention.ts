import { type GraphBuilder, linear, ops, readLinear, Tensor, type Value, VitkitError, type WeightStore } from '@vitkit/core/internal';
import { scalar } from './onnx-ops.js';

export interface DeformableAttentionArgs {
  /** [B, Q, C]: the queries the sampling offsets and weights are computed from (position embedding already added). */
  query: Value;
  /** [B, S, C]: the flattened multi-level maps, S = Σ h·w. */
  value: Value;
  /** [B, S], 1 = valid: masked values are zeroed before sampling. */
  valueMask?: Value;
  /** [B, Q, levels, 2] points (x, y) or [B, Q, levels, 4] boxes (cx, cy, w, h), normalised to [0, 1]. */
  referencePoints: Value;
  /** [h, w] of each level, in the order of `value`. */
  levelShapes: readonly (readonly [number, number])[];
  numHeads: number;
  numPoints: number;
}

/**
 * Multi-scale deformable attention (Deformable DETR's MSDeformAttn, as transformers' pure-PyTorch
 * path computes it): each query samples `numPoints` points per head and level around its reference,
 * bilinearly (zeros outside, align_corners=False: ONNX GridSample), and sums them with softmax
 * weights. `w` holds `sampling_offsets`, `attention_weights`, `value_proj` and `output_proj`.
 */
export function multiScaleDeformableAttention(g: GraphBuilder, w: WeightStore, args: DeformableAttentionArgs): Value {
  const { query, referencePoints: ref, levelShapes, numHeads: H, numPoints: P } = args;
  const C = query.shape[2] as number;
  const L = levelShapes.length;
  const D = C / H;
  const coords = ref.shape[3] as number;
  if (coords !== 2 && coords !== 4) {
    throw new VitkitError('GRAPH_SHAPE_MISMATCH', `deformable attention: reference points must end in 2 or 4 coordinates, got ${coords}.`);
  }
  const lin = (name: string, out: number) => readLinear(w, name, { inFeatures: C, outFeatures: out, bias: 'required' });

  let value = linear(g, args.value, lin('value_proj', C), 'value_proj');
  if (args.valueMask) value = ops.mul(g, value, ops.unsqueeze(g, args.valueMask, [2]));
  const offsets = ops.reshape(g, linear(g, query, lin('sampling_offsets', H * L * P * 2), 'sampling_offsets'), [0, 0, H, L, P, 2]);
  const logits = ops.reshape(g, linear(g, query, lin('attention_weights', H * L * P), 'attention_weights'), [0, 0, H, L * P]);
  const weights = ops.softmax(g, logits, -1); // [B, Q, H, L·P]

  // Sampling locations [B, Q, H, L, P, 2] in [0, 1].
  const refXY = ops.unsqueeze(g, ops.slice(g, ref, [0], [2], [3]), [2, 4]); // [B, Q, 1, L, 1, 2]
  let locations: Value;
  if (coords === 2) {
    const normalizer = new Float32Array(L * 2);
    levelShapes.forEach(([h, wd], l) => normalizer.set([wd, h], l * 2));
    locations = ops.add(g, refXY, ops.div(g, offsets, g.constant(new Tensor('float32', normalizer, [L, 1, 2]), 'offset_normalizer')));
  } else {
    const refWH = ops.unsqueeze(g, ops.slice(g, ref, [2], [4], [3]), [2, 4]);
    const scaled = ops.mul(g, ops.mul(g, ops.div(g, offsets, scalar(g, P, 'points')), refWH), scalar(g, 0.5, 'half'));
    locations = ops.add(g, refXY, scaled);
  }
  const grids = ops.sub(g, ops.mul(g, locations, scalar(g, 2, 'two')), scalar(g, 1, 'one'));

  let start = 0;
  const sampled: Value[] = [];
  levelShapes.forEach(([h, wd], l) => {
    // value of level l → [B·H, D, h, w]; its grid → [B·H, Q, P, 2].
    const v = ops.slice(g, value, [start], [start + h * wd], [1]);
    const maps = ops.reshape(g, ops.transpose(g, ops.reshape(g, v, [0, 0, H, D]), [0, 2, 3, 1]), [-1, D, h, wd]);
    const grid = ops.gather(g, grids, l, 3); // [B, Q, H, P, 2]
    const perHead = ops.reshape(g, ops.transpose(g, grid, [0, 2, 1, 3, 4]), [-1, grid.shape[1] as number, P, 2]);
    sampled.push(gridSample(g, maps, perHead)); // [B·H, D, Q, P]
    start += h * wd;
  });
  const samples = ops.concat(g, sampled, 3); // [B·H, D, Q, L·P]
  const perHeadWeights = ops.unsqueeze(
    g,
    ops.reshape(g, ops.transpose(g, weights, [0, 2, 1, 3]), [-1, weights.shape[1] as number, L * P]),
    [1],
  );
  const summed = ops.reduceSum(g, ops.mul(g, samples, perHeadWeights), [3], false); // [B·H, D, Q]
  const out = ops.transpose(g, ops.reshape(g, summed, [-1, C, query.shape[1] as number]), [0, 2, 1]); // [B, Q, C]
  return linear(g, out, lin('output_proj', C), 'output_proj');
}

/** ONNX GridSample, bilinear, zeros padding, align_corners=0: x [N, C, h, w], grid [N, Q, P, 2] → [N, C, Q, P]. */
function gridSample(g: GraphBuilder, x: Value, grid: Value): Value {
  const [n, c] = x.shape;
  const mode = g.opset >= 20 ? 'linear' : 'bilinear';
  return g.node('GridSample', [x, grid], { mode, padding_mode: 'zeros', align_corners: 0 }, [
    { dtype: x.dtype, shape: [n, c, grid.shape[1], grid.shape[2]] },
  ])[0];
}
