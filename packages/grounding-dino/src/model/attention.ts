import {
  attention,
  type GraphBuilder,
  type LinearWeights,
  linear,
  ops,
  readLinear,
  Tensor,
  type Value,
  type WeightStore,
} from '@vitkit/core/internal';

/** Masked scores: finite (torch.finfo(float32).min), so a softmax row never turns NaN. */
export const MASKED_SCORE = -3.4028234663852886e38;

export interface AttentionWeights {
  query: LinearWeights;
  key: LinearWeights;
  value: LinearWeights;
  out: LinearWeights;
}

/** GroundingDinoMultiheadAttention / BertSelfAttention's projections at `prefix` (`out` named as the module names it). */
export function readAttention(w: WeightStore, prefix: string, dim: number, outName: string): AttentionWeights {
  const square = { inFeatures: dim, outFeatures: dim, bias: 'required' as const };
  return {
    query: readLinear(w, `${prefix}query`, square),
    key: readLinear(w, `${prefix}key`, square),
    value: readLinear(w, `${prefix}value`, square),
    out: readLinear(w, outName, square),
  };
}

/**
 * softmax(q·kᵀ/√d + bias)·v over heads, then the output projection. `bias` is [B, 1, Lq, Lk]
 * (a per-image mask, which core's `attention()` takes only per key), added to every head's scores.
 */
export function maskedAttention(
  g: GraphBuilder,
  queries: Value,
  keys: Value,
  values: Value,
  w: AttentionWeights,
  heads: number,
  bias: Value,
): Value {
  const c = queries.shape[2] as number;
  const d = c / heads;
  const split = (x: Value, perm: number[]) => ops.transpose(g, ops.reshape(g, x, [0, 0, heads, d]), perm);
  const q = split(linear(g, queries, w.query, 'query'), [0, 2, 1, 3]); // [B, H, Lq, d]
  const kt = split(linear(g, keys, w.key, 'key'), [0, 2, 3, 1]); // [B, H, d, Lk]
  const v = split(linear(g, values, w.value, 'value'), [0, 2, 1, 3]); // [B, H, Lk, d]
  const scores = ops.add(g, ops.mul(g, ops.matMul(g, q, kt), g.constant(Tensor.fromFloat32([1 / Math.sqrt(d)], []), 'scale')), bias);
  const context = ops.transpose(g, ops.matMul(g, ops.softmax(g, scores, -1), v), [0, 2, 1, 3]);
  return linear(g, ops.reshape(g, context, [0, 0, c]), w.out, 'out_proj');
}

/** The same attention with no mask or a per-key one ([B, Lk], 1 = attend), through core's kernels. */
export function keyMaskedAttention(
  g: GraphBuilder,
  queries: Value,
  keys: Value,
  values: Value,
  w: AttentionWeights,
  heads: number,
  keyMask?: Value,
): Value {
  const out = attention(g, {
    q: linear(g, queries, w.query, 'query'),
    k: linear(g, keys, w.key, 'key'),
    v: linear(g, values, w.value, 'value'),
    numHeads: heads,
    keyPaddingMask: keyMask,
  });
  return linear(g, out.output, w.out, 'out_proj');
}
