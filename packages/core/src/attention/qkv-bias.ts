import type { GraphBuilder } from '../graph/graph-builder.js';
import { add } from '../graph/ops.js';
import type { Value } from '../graph/value.js';
import { Tensor, toFloat32Array } from '../tensor/tensor.js';
import type { QkvBias } from './attention-kernel.js';

const NAMES = { q: 'query.bias', k: 'key.bias', v: 'value.bias' } as const;

/** q, k and v with their projection biases added (the Add after each MatMul that `linear()` would emit). */
export function addQkvBias(
  g: GraphBuilder,
  qkv: { q: Value; k: Value; v: Value },
  bias: QkvBias | undefined,
): { q: Value; k: Value; v: Value } {
  if (!bias) return qkv;
  const biased = (which: 'q' | 'k' | 'v') => {
    const b = bias[which];
    return b ? add(g, qkv[which], g.constant(b.toFloat32(), NAMES[which])) : qkv[which];
  };
  return { q: biased('q'), k: biased('k'), v: biased('v') };
}

/** [bq | bk | bv], [3C], zeros where a projection has none: MultiHeadAttention's `bias` input. */
export function packedQkvBias(g: GraphBuilder, bias: QkvBias | undefined, channels: number): Value | undefined {
  if (!bias || (!bias.q && !bias.k && !bias.v)) return undefined;
  const packed = new Float32Array(3 * channels);
  (['q', 'k', 'v'] as const).forEach((which, i) => {
    const b = bias[which];
    if (b) packed.set(toFloat32Array(b), i * channels);
  });
  return g.constant(new Tensor('float32', packed, [3 * channels]), 'qkv.bias');
}
