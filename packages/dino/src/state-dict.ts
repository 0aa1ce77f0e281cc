import { ConfigReader, numLabels, type RawConfig, StateDictBuilder, type StateDictSpec, VitkitError } from '@vitkit/core/internal';
import { DINO_MODEL_TYPES } from './model.js';

/** The state dict of a DINO-family config, as transformers' ViT / Dinov2 / Dinov2WithRegisters modules create it. */
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
