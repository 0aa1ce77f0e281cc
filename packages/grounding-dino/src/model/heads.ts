import { type GraphBuilder, linear, ops, readLinear, Tensor, type Value, type WeightStore } from '@vitkit/core/internal';
import { clip, log, scalar, toBool } from './onnx-ops.js';

/** GroundingDinoMLPPredictionHead at `prefix`: `layers.{i}` Linears with relu between them. */
export function predictionHead(g: GraphBuilder, x: Value, w: WeightStore, prefix: string, dims: number[]): Value {
  let h = x;
  for (let i = 0; i < dims.length - 1; i++) {
    const layer = readLinear(w, `${prefix}layers.${i}`, { inFeatures: dims[i], outFeatures: dims[i + 1], bias: 'required' });
    h = linear(g, h, layer, `${prefix}layers.${i}`);
    if (i < dims.length - 2) h = ops.relu(g, h);
  }
  return h;
}

/**
 * GroundingDinoContrastiveEmbedding: queries · text tokensᵀ, -inf at padded tokens, padded with
 * -inf to `maxTextLen` columns: [B, N, maxTextLen].
 */
export function contrastiveLogits(g: GraphBuilder, queries: Value, text: Value, tokenMask: Value, maxTextLen: number): Value {
  const minusInf = scalar(g, Number.NEGATIVE_INFINITY, 'minus_inf');
  const scores = ops.matMul(g, queries, ops.transpose(g, text, [0, 2, 1])); // [B, N, T]
  const masked = ops.where(g, ops.unsqueeze(g, toBool(g, tokenMask), [1]), scores, minusInf);
  // T ≤ maxTextLen (the text was truncated): append maxTextLen columns of -inf and keep the first maxTextLen.
  const fill = ops.add(
    g,
    ops.mul(g, ops.slice(g, queries, [0], [1], [2]), scalar(g, 0, 'zero')),
    g.constant(new Tensor('float32', new Float32Array(maxTextLen).fill(Number.NEGATIVE_INFINITY), [maxTextLen]), 'padding'),
  );
  const wide = ops.concat(g, [masked, fill], 2);
  const [b, n] = wide.shape;
  const int64s = (v: number[]) => g.constant(new Tensor('int64', BigInt64Array.from(v.map(BigInt)), [v.length]), 'slice');
  return g.node('Slice', [wide, int64s([0]), int64s([maxTextLen]), int64s([2])], {}, [{ dtype: 'float32', shape: [b, n, maxTextLen] }])[0];
}

/** `torch.special.logit(x, eps)`: log(x / (1 - x)) with x clamped to [eps, 1 - eps]. */
export function inverseSigmoid(g: GraphBuilder, x: Value, eps = 1e-5): Value {
  const c = clip(g, x, eps, 1 - eps);
  return log(g, ops.div(g, c, ops.sub(g, scalar(g, 1, 'one'), c)));
}
