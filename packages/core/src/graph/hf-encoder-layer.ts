import type { WeightStore } from '../weights/weight-store.js';
import type { EncoderBlockWeights, LinearWeights, NormWeights } from './blocks.js';

// Hugging Face names a ViT-style encoder layer's weights two ways: ViT/DeiT
// (layernorm_before, intermediate.dense, output.dense) and DINOv2 (norm1, mlp.fc1 or
// mlp.weights_in for SwiGLU, layer_scale1). Both read into one EncoderBlockWeights.

const lin = (w: WeightStore, name: string): LinearWeights => ({
  weight: w.get(`${name}.weight`),
  bias: w.has(`${name}.bias`) ? w.get(`${name}.bias`) : undefined,
});

const ln = (w: WeightStore, name: string): NormWeights => ({ weight: w.get(`${name}.weight`), bias: w.get(`${name}.bias`) });

/** Reads `encoder.layer.{i}` under `prefix` (e.g. '' or 'dinov2.'). */
export function readEncoderLayer(weights: WeightStore, prefix: string): EncoderBlockWeights {
  const w = weights.scoped(prefix);
  const attn = {
    query: lin(w, 'attention.attention.query'),
    key: lin(w, 'attention.attention.key'),
    value: lin(w, 'attention.attention.value'),
    attnOut: lin(w, 'attention.output.dense'),
  };
  if (w.has('layernorm_before.weight')) {
    return {
      ...attn,
      norm1: ln(w, 'layernorm_before'),
      norm2: ln(w, 'layernorm_after'),
      ffn: { kind: 'mlp', fc1: lin(w, 'intermediate.dense'), fc2: lin(w, 'output.dense') },
    };
  }
  return {
    ...attn,
    norm1: ln(w, 'norm1'),
    norm2: ln(w, 'norm2'),
    ffn: w.has('mlp.weights_in.weight')
      ? { kind: 'swiglu', weightsIn: lin(w, 'mlp.weights_in'), weightsOut: lin(w, 'mlp.weights_out') }
      : { kind: 'mlp', fc1: lin(w, 'mlp.fc1'), fc2: lin(w, 'mlp.fc2') },
    layerScale1: w.has('layer_scale1.lambda1') ? w.get('layer_scale1.lambda1') : undefined,
    layerScale2: w.has('layer_scale2.lambda1') ? w.get('layer_scale2.lambda1') : undefined,
  };
}
