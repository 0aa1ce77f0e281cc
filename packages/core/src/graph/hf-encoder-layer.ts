import { VitkitError } from '../errors/vitkit-error.js';
import type { WeightStore } from '../weights/weight-store.js';
import type { EncoderBlockWeights, FfnActivation } from './blocks.js';
import { readLinear, readNorm, readVector } from './read-weights.js';

// Hugging Face names a ViT-style encoder layer's weights three ways: ViT/DeiT
// (layernorm_before, intermediate.dense, output.dense), DINOv2 (norm1, mlp.fc1 or
// mlp.weights_in for SwiGLU, layer_scale1) and DINOv3 (attention.q_proj.., mlp.up_proj/down_proj
// (+ gate_proj), layer_scale1). All read into one EncoderBlockWeights, every shape checked against
// the hidden size.

export interface EncoderLayerLayout {
  /** 'vit': ViT/DeiT names; 'dinov2': DINOv2 names; 'dinov3': DINOv3 names. */
  naming: 'vit' | 'dinov2' | 'dinov3';
  /** DINOv2's `use_swiglu_ffn` ('swiglu'), DINOv3's `use_gated_mlp` ('gated'). */
  ffn: 'mlp' | 'swiglu' | 'gated';
  /** The feed-forward activation (`hidden_act`); exact GELU when absent. SwiGLU is always SiLU. */
  act?: FfnActivation;
  /** DINOv3's bias switches (`query_bias`, `key_bias`, `value_bias`, `proj_bias`, `mlp_bias`): present or absent as config.json says. */
  biases?: { query: boolean; key: boolean; value: boolean; proj: boolean; mlp: boolean };
}

/**
 * Reads `encoder.layer.{i}` under `prefix` (e.g. '' or 'dinov2.'), a layer of width `hidden`, laid
 * out as config.json says (so a missing tensor is reported as itself, not as another layout's).
 */
export function readEncoderLayer(weights: WeightStore, prefix: string, hidden: number, layout: EncoderLayerLayout): EncoderBlockWeights {
  const w = weights.scoped(prefix);
  const square = { inFeatures: hidden, outFeatures: hidden };
  if (layout.naming === 'dinov3') return readDinov3Layer(w, hidden, layout);
  if (layout.ffn === 'gated') throw new VitkitError('INVALID_ARGUMENT', 'A gated MLP is read with the dinov3 naming only.');
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
    ffn: swiglu ? { kind: 'swiglu', weightsIn: first, weightsOut: second } : { kind: 'mlp', fc1: first, fc2: second, act: layout.act },
    layerScale1: w.has('layer_scale1.lambda1') ? readVector(w, 'layer_scale1.lambda1', hidden) : undefined,
    layerScale2: w.has('layer_scale2.lambda1') ? readVector(w, 'layer_scale2.lambda1', hidden) : undefined,
  };
}

/** DINOv3ViTLayer: q/k/v/o_proj (each bias switchable in config.json), up/down(/gate)_proj, layer scales. */
function readDinov3Layer(w: WeightStore, hidden: number, layout: EncoderLayerLayout): EncoderBlockWeights {
  const b = layout.biases ?? { query: true, key: false, value: true, proj: true, mlp: true };
  const bias = (on: boolean): 'required' | 'none' => (on ? 'required' : 'none');
  const square = (on: boolean) => ({ inFeatures: hidden, outFeatures: hidden, bias: bias(on) });
  const up = readLinear(w, 'mlp.up_proj', { inFeatures: hidden, bias: bias(b.mlp) });
  const inner = up.weight.shape[0];
  const down = readLinear(w, 'mlp.down_proj', { inFeatures: inner, outFeatures: hidden, bias: bias(b.mlp) });
  const act = layout.act ?? 'gelu';
  return {
    query: readLinear(w, 'attention.q_proj', square(b.query)),
    key: readLinear(w, 'attention.k_proj', square(b.key)),
    value: readLinear(w, 'attention.v_proj', square(b.value)),
    attnOut: readLinear(w, 'attention.o_proj', square(b.proj)),
    norm1: readNorm(w, 'norm1', hidden),
    norm2: readNorm(w, 'norm2', hidden),
    ffn:
      layout.ffn === 'gated'
        ? {
            kind: 'gated',
            gate: readLinear(w, 'mlp.gate_proj', { inFeatures: hidden, outFeatures: inner, bias: bias(b.mlp) }),
            up,
            down,
            act,
          }
        : { kind: 'mlp', fc1: up, fc2: down, act },
    layerScale1: readVector(w, 'layer_scale1.lambda1', hidden),
    layerScale2: readVector(w, 'layer_scale2.lambda1', hidden),
  };
}
