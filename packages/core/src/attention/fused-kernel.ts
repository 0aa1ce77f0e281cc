import { float, type GraphBuilder, MS_DOMAIN } from '../graph/graph-builder.js';
import { add, mul, reduceMean, reshape } from '../graph/ops.js';
import type { Value } from '../graph/value.js';
import { Tensor } from '../tensor/tensor.js';
import type { AttentionKernel } from './attention-kernel.js';
import { keyPaddingBias } from './mask-bias.js';
import { packedQkvBias } from './qkv-bias.js';
import { referenceAttention } from './reference-kernel.js';

/**
 * onnxruntime's com.microsoft MultiHeadAttention: one node instead of ~10, with the backend's own
 * fused kernel. The Q/K/V projection biases go into its `bias` input, which adds them while splitting
 * heads (no Add nodes; onnxruntime's cpu MHA has no packed-QKV format, so Q, K and V stay separate
 * inputs). Key padding is folded into `attention_bias`, because the WebGPU provider does not
 * implement the `key_padding_mask` input.
 */
export const fusedAttention: AttentionKernel = (g, args) => {
  const { q, k, v, numHeads, scale, bias, keyPaddingMask } = args;
  // attention_bias broadcasts only a leading 1; windows that repeat along the batch need the reference path.
  if (bias && bias.shape[0] !== 1) return referenceAttention(g, args);
  let attnBias: Value | undefined = bias;
  if (keyPaddingMask) {
    const maskBias = keyPaddingBias(g, keyPaddingMask); // [B, 1, 1, L]
    attnBias = bias ? add(g, bias, maskBias) : expandQueries(g, maskBias, q);
  }
  const [output] = g.node(
    'MultiHeadAttention',
    [q, k, v, packedQkvBias(g, args.qkvBias, q.shape[2] as number), undefined, attnBias],
    { num_heads: numHeads, scale: float(scale) },
    [{ dtype: q.dtype, shape: q.shape }],
    { domain: MS_DOMAIN },
  );
  return { output };
};

/**
 * [B, 1, 1, L] → [B, 1, S, L]: attention_bias needs the query axis spelled out. A known S is a
 * constant Expand; a symbolic one (DETR's encoder: as many queries as feature-map cells) comes from
 * q itself, a zero per query broadcast against the mask, so no Shape op splits the graph on WebGPU.
 */
function expandQueries(g: GraphBuilder, maskBias: Value, q: Value): Value {
  const [b, , , l] = maskBias.shape;
  const queries = q.shape[1];
  if (typeof queries === 'number') {
    const shape = g.constant(new Tensor('int64', BigInt64Array.from([1n, 1n, BigInt(queries), 1n]), [4]), 'expand_shape');
    return g.node('Expand', [maskBias, shape], {}, [{ dtype: maskBias.dtype, shape: [b, 1, queries, l] }])[0];
  }
  const zero = g.constant(new Tensor(maskBias.dtype as 'float32', Float32Array.of(0), []), 'zero');
  const perQuery = reshape(g, mul(g, reduceMean(g, q, [2], true), zero), [0, 1, -1, 1]); // [B, 1, S, 1] of zeros
  return add(g, perQuery, maskBias);
}
