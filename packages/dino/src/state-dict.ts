import { ConfigReader, numLabels, type RawConfig, StateDictBuilder, type StateDictSpec, VitkitError } from '@vitkit/core/internal';
import { DINO_MODEL_TYPES } from './model.js';

/** The state dict of a DINO-family config, as transformers' ViT / Dinov2 / Dinov2WithRegisters / DINOv3ViT modules create it. */
export function dinoStateDict(raw: RawConfig): StateDictSpec {
  const c = new ConfigReader(raw);
  const arch = c.optional<string[]>('architectures')?.[0] ?? DINO_MODEL_TYPES[c.string('model_type')];
  const s = new StateDictBuilder();
  const h = c.int('hidden_size');
  switch (arch) {
    case 'ViTModel':
      vit(c, s, '');
      break;
    case 'Dinov2Model':
    case 'Dinov2WithRegistersModel':
      dinov2(c, s, '', arch === 'Dinov2WithRegistersModel');
      break;
    case 'Dinov2ForImageClassification':
      dinov2(c, s, 'dinov2.', false);
      s.linear('classifier', numLabels(raw), 2 * h);
      break;
    case 'Dinov2WithRegistersForImageClassification':
      dinov2(c, s, 'dinov2_with_registers.', true);
      s.linear('classifier', numLabels(raw), 2 * h);
      break;
    case 'DINOv3ViTModel':
      dinov3(c, s);
      break;
    default:
      throw new VitkitError('MODEL_TYPE_UNSUPPORTED', `@vitkit/dino has no state dict for "${arch}".`);
  }
  return s.spec;
}

/** ViTModel (DINO v1): ViT layers, final layernorm, the dense + tanh pooler. */
function vit(c: ConfigReader, s: StateDictBuilder, p: string) {
  const h = c.int('hidden_size');
  const patches = s.patchEmbedding(c, p, h);
  s.tensor(`${p}embeddings.cls_token`, [1, 1, h], 'normal');
  s.tensor(`${p}embeddings.position_embeddings`, [1, patches + 1, h], 'normal');
  s.vitEncoderLayers(c, p);
  s.layerNorm(`${p}layernorm`, h);
  s.linear(`${p}pooler.dense`, h, h);
}

/** Dinov2Model (+registers): norm1, attention, layer_scale1, norm2, MLP or SwiGLU, layer_scale2. */
function dinov2(c: ConfigReader, s: StateDictBuilder, p: string, registers: boolean) {
  const h = c.int('hidden_size');
  const patches = s.patchEmbedding(c, p, h);
  s.tensor(`${p}embeddings.cls_token`, [1, 1, h], 'normal');
  s.tensor(`${p}embeddings.mask_token`, [1, h], 'normal');
  if (registers) s.tensor(`${p}embeddings.register_tokens`, [1, c.int('num_register_tokens'), h], 'normal');
  s.tensor(`${p}embeddings.position_embeddings`, [1, patches + 1, h], 'normal');
  const hidden = Math.trunc(h * c.number('mlp_ratio', 4));
  const swiglu = c.optional<boolean>('use_swiglu_ffn') ?? false;
  for (let i = 0; i < c.int('num_hidden_layers'); i++) {
    const l = `${p}encoder.layer.${i}.`;
    s.layerNorm(`${l}norm1`, h);
    s.selfAttention(l, h, c.optional<boolean>('qkv_bias') ?? true);
    s.tensor(`${l}layer_scale1.lambda1`, [h], 'one');
    s.layerNorm(`${l}norm2`, h);
    if (swiglu) {
      // transformers' Dinov2SwiGLUFFN: hidden = int(h * ratio); hidden = (int(hidden * 2 / 3) + 7) // 8 * 8.
      const sh = Math.floor((Math.trunc((hidden * 2) / 3) + 7) / 8) * 8;
      s.linear(`${l}mlp.weights_in`, 2 * sh, h);
      s.linear(`${l}mlp.weights_out`, h, sh);
    } else {
      s.linear(`${l}mlp.fc1`, hidden, h);
      s.linear(`${l}mlp.fc2`, h, hidden);
    }
    s.tensor(`${l}layer_scale2.lambda1`, [h], 'one');
  }
  s.layerNorm(`${p}layernorm`, h);
}

/**
 * DINOv3ViTModel (transformers v5): embeddings (cls, mask, registers, the patch conv itself), then
 * `layer.<i>` with q/k/v/o_proj (biases as config.json switches them), layer scales, MLP or gated
 * MLP, and the final `norm`. No position embeddings: the rotary one has no weights.
 */
function dinov3(c: ConfigReader, s: StateDictBuilder) {
  const h = c.int('hidden_size');
  const inter = c.int('intermediate_size');
  const [ph, pw] = c.pair('patch_size');
  s.tensor('embeddings.cls_token', [1, 1, h], 'normal');
  s.tensor('embeddings.mask_token', [1, 1, h], 'normal');
  // HF creates the parameter even for 0 registers (then [1, 0, h]).
  s.tensor('embeddings.register_tokens', [1, c.int('num_register_tokens', 0), h], 'normal');
  s.conv('embeddings.patch_embeddings', h, c.int('num_channels', 3), ph, pw, true);
  const mlpBias = c.bool('mlp_bias', true);
  for (let i = 0; i < c.int('num_hidden_layers'); i++) {
    const l = `layer.${i}.`;
    s.layerNorm(`${l}norm1`, h);
    s.linear(`${l}attention.k_proj`, h, h, c.bool('key_bias', false));
    s.linear(`${l}attention.v_proj`, h, h, c.bool('value_bias', true));
    s.linear(`${l}attention.q_proj`, h, h, c.bool('query_bias', true));
    s.linear(`${l}attention.o_proj`, h, h, c.bool('proj_bias', true));
    s.tensor(`${l}layer_scale1.lambda1`, [h], 'one');
    s.layerNorm(`${l}norm2`, h);
    if (c.bool('use_gated_mlp', false)) s.linear(`${l}mlp.gate_proj`, inter, h, mlpBias);
    s.linear(`${l}mlp.up_proj`, inter, h, mlpBias);
    s.linear(`${l}mlp.down_proj`, h, inter, mlpBias);
    s.tensor(`${l}layer_scale2.lambda1`, [h], 'one');
  }
  s.layerNorm('norm', h);
}
