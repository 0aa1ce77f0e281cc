import type { GraphBuilder } from '../graph/graph-builder.js';
import { add, matMul, mul, reshape, softmax, transpose } from '../graph/ops.js';
import type { Value } from '../graph/value.js';
import { Tensor } from '../tensor/tensor.js';
import type { AttentionKernel } from './attention-kernel.js';
import { keyPaddingBias } from './mask-bias.js';
import { addQkvBias } from './qkv-bias.js';

/** Standard ONNX attention: (+qkv bias) → MatMul → scale → (+bias, +mask) → Softmax → MatMul. Runs everywhere. */
export const referenceAttention: AttentionKernel = (g, args) => {
  const { numHeads, scale, bias, keyPaddingMask, wantProbs } = args;
  const { q, k, v } = addQkvBias(g, args, args.qkvBias);
  const c = q.shape[2] as number;
  const d = c / numHeads;
  const heads = (x: Value, perm: number[]) => transpose(g, reshape(g, x, [0, 0, numHeads, d]), perm);
  const qh = heads(q, [0, 2, 1, 3]); // [B, H, S, D]
  const kt = heads(k, [0, 2, 3, 1]); // [B, H, D, L]
  const vh = heads(v, [0, 2, 1, 3]); // [B, H, L, D]

  let scores = mul(g, matMul(g, qh, kt), g.constant(Tensor.fromFloat32([scale], []), 'scale'));
  if (bias) scores = addPeriodicBias(g, scores, bias);
  if (keyPaddingMask) scores = add(g, scores, keyPaddingBias(g, keyPaddingMask));
  const probs = softmax(g, scores, -1);
  const context = transpose(g, matMul(g, probs, vh), [0, 2, 1, 3]); // [B, S, H, D]
  return { output: reshape(g, context, [0, 0, c]), probs: wantProbs ? probs : undefined };
};

/** Adds a [P, H, S, L] bias whose P windows repeat along the batch (P = 1 broadcasts plainly). */
function addPeriodicBias(g: GraphBuilder, scores: Value, bias: Value): Value {
  const period = bias.shape[0];
  if (period === 1) return add(g, scores, bias);
  const [, h, s, l] = scores.shape as number[];
  const grouped = reshape(g, scores, [-1, period as number, h, s, l]);
  return reshape(g, add(g, grouped, bias), [-1, h, s, l]);
}
