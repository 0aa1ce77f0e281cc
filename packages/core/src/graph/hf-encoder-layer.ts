import type { WeightStore } from '../weights/weight-store.js';
import type { EncoderBlockWeights } from './blocks.js';
import { readLinear, readNorm, readVector } from './read-weights.js';

// Hugging Face names a ViT-style encoder layer's weights two ways: ViT/DeiT
// (layernorm_before, intermediate.dense, output.dense) and DINOv2 (norm1, mlp.fc1 or
// mlp.weights_in for SwiGLU, layer_scale1). Both read into one EncoderBlockWeights, every shape
// checked against the hidden size.

export interface EncoderLayerLayout {
  /** 'vit': ViT/DeiT names; 'dinov2': DINOv2 names. */
  naming: 'vit' | 'dinov2';
  /** DINOv2's `use_swiglu_ffn`. */
  ffn: 'mlp' | 'swiglu';
}

/**
 * Reads `encoder.layer.{i}` under `prefix` (e.g. '' or 'dinov2.'), a layer of width `hidden`, laid
 * out as config.json says (so a missing tensor is reported as itself, not as another layout's).
 */
export function readEncoderLayer(weights: WeightStore, prefix: string, hidden: number, layout: EncoderLayerLayout): EncoderBlockWeights {
  const w = weights.scoped(prefix);
  const square = { inFeatures: hidden, outFeatures: hidden };
  const attn = {
    query: readLinear(w, 'attention.attention.query', square),
    key: readLinear(w, 'attention.attention.key', square),
    value: readLinear(w, 'attention.attention.value', square),
    attnOut: readLinear(w, 'attention.output.dense', square),
  };
  /** fc1 [inner, hidden] then fc2 [hidden, inner]; SwiGLU's weights_in holds both halves. */
  const mlp = (fc1: string, fc2: string, halves = 1) => {
    const first = readLinear(w, fc1, { inFeatures: hidden });
    return [first, readLinear(w, fc2, { inFeatures: first.weight.shape[0] / halves, outFeatures: hidden })] as const;
  };
  if (layout.naming === 'vit') {
    const [fc1, fc2] = mlp('intermediate.dense', 'output.dense');
    return {
      ...attn,
      norm1: readNorm(w, 'layernorm_before', hidden),
      norm2: readNorm(w, 'layernorm_after', hidden),
      ffn: { kind: 'mlp', fc1, fc2 },
    };
  }
  const swiglu = layout.ffn === 'swiglu';
  const [first, second] = swiglu ? mlp('mlp.weights_in', 'mlp.weights_out', 2) : mlp('mlp.fc1', 'mlp.fc2');
  return {
    ...attn,
    norm1: readNorm(w, 'norm1', hidden),
    norm2: readNorm(w, 'norm2', hidden),
    ffn: swiglu ? { kind: 'swiglu', weightsIn: first, weightsOut: second } : { kind: 'mlp', fc1: first, fc2: second },
    layerScale1: w.has('layer_scale1.lambda1') ? readVector(w, 'layer_scale1.lambda1', hidden) : undefined,
    layerScale2: w.has('layer_scale2.lambda1') ? readVector(w, 'layer_scale2.lambda1', hidden) : undefined,
  };
}
