import type { EncoderBlockWeights, LinearWeights } from '../../packages/core/src/graph/blocks.js';
import { Tensor } from '../../packages/core/src/tensor/tensor.js';
import { seededRandom } from './devices.js';

export interface RandomEncoderBlockOptions {
  /** Std of every bias (LayerNorm and Linear). */
  biasStd: number;
  /** Layer-scale vectors as [mean, std]; absent ones are left out. */
  layerScale1?: [number, number];
  layerScale2?: [number, number];
}

/**
 * A pre-norm encoder block (hidden `c`, MLP 4c) with seeded weights: LayerNorm scales ≈ 1, Linear
 * weights N(0, 1/fan-in), small biases. Same seed and options, same tensors.
 */
export function randomEncoderBlockWeights(seed: number, c: number, o: RandomEncoderBlockOptions): EncoderBlockWeights {
  const r = seededRandom(seed);
  const vec = (n: number, std: number, mean = 0) =>
    new Tensor(
      'float32',
      Float32Array.from({ length: n }, () => mean + std * r()),
      [n],
    );
  const lin = (out: number, inp: number): LinearWeights => ({
    weight: new Tensor(
      'float32',
      Float32Array.from({ length: out * inp }, () => r() / Math.sqrt(inp)),
      [out, inp],
    ),
    bias: vec(out, o.biasStd),
  });
  const block: EncoderBlockWeights = {
    norm1: { weight: vec(c, 0.1, 1), bias: vec(c, o.biasStd) },
    query: lin(c, c),
    key: lin(c, c),
    value: lin(c, c),
    attnOut: lin(c, c),
    norm2: { weight: vec(c, 0.1, 1), bias: vec(c, o.biasStd) },
    ffn: { kind: 'mlp', fc1: lin(4 * c, c), fc2: lin(c, 4 * c) },
  };
  if (o.layerScale1) block.layerScale1 = vec(c, o.layerScale1[1], o.layerScale1[0]);
  if (o.layerScale2) block.layerScale2 = vec(c, o.layerScale2[1], o.layerScale2[0]);
  return block;
}
