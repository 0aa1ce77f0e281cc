import { ConfigReader, type RawConfig, StateDictBuilder, type StateDictSpec, VitkitError } from '@vitkit/core/internal';
import { swinBackboneStateDict } from '@vitkit/swin';
import { BACKBONE_PREFIX, TEXT_BACKBONE_PREFIX } from './model/spec.js';

/**
 * The state dict of a GroundingDinoForObjectDetection config, as `save_pretrained` writes it: the
 * Swin backbone, BERT (no pooler), the projections, encoder, decoder and heads. With
 * `decoder_bbox_embed_share` the decoder's box heads are one tied module, saved once as `bbox_embed.0`.
 */
export function groundingDinoStateDict(raw: RawConfig): StateDictSpec {
  const c = new ConfigReader(raw);
  const backboneRaw = c.optional<RawConfig>('backbone_config');
  const textRaw = c.optional<RawConfig>('text_config');
  if (!backboneRaw || !textRaw) throw new VitkitError('CONFIG_MISSING_KEY', 'config.json needs "backbone_config" and "text_config".');
  const s = new StateDictBuilder();
  const backbone = swinBackboneStateDict(backboneRaw);
  for (const [k, v] of backbone) s.spec.set(BACKBONE_PREFIX + k, v);

  const d = c.int('d_model');
  const levels = c.int('num_feature_levels');
  const b = new ConfigReader(backboneRaw, 'backbone_config');
  const stages = b.intArray('depths').length;
  const outChannels = b.intArray('out_indices', [stages]).map((i) => b.int('embed_dim') * 2 ** Math.max(0, i - 1));
  outChannels.forEach((ch, l) => {
    s.conv(`model.input_proj_vision.${l}.0`, d, ch, 1, 1, true);
    s.layerNorm(`model.input_proj_vision.${l}.1`, d);
  });
  for (let l = outChannels.length; l < levels; l++) {
    s.conv(`model.input_proj_vision.${l}.0`, d, l === outChannels.length ? outChannels[outChannels.length - 1] : d, 3, 3, true);
    s.layerNorm(`model.input_proj_vision.${l}.1`, d);
  }

  bertStateDict(s, new ConfigReader(textRaw, 'text_config'));
  s.linear('model.text_projection', d, new ConfigReader(textRaw, 'text_config').int('hidden_size', 768));
  s.tensor('model.query_position_embeddings.weight', [c.int('num_queries'), d], 'normal');
  s.tensor('model.level_embed', [levels, d], 'normal');
  s.linear('model.enc_output', d, d);
  s.layerNorm('model.enc_output_norm', d);
  mlpHead(s, 'model.encoder_output_bbox_embed', [d, d, d, 4]);

  const encHeads = c.int('encoder_attention_heads');
  const encFfn = c.int('encoder_ffn_dim');
  for (let i = 0; i < c.int('encoder_layers'); i++) {
    const p = `model.encoder.layers.${i}.`;
    multiheadAttention(s, `${p}text_enhancer_layer.self_attn`, d);
    s.linear(`${p}text_enhancer_layer.fc1`, encFfn / 2, d);
    s.linear(`${p}text_enhancer_layer.fc2`, d, encFfn / 2);
    s.layerNorm(`${p}text_enhancer_layer.layer_norm_before`, d);
    s.layerNorm(`${p}text_enhancer_layer.layer_norm_after`, d);
    s.layerNorm(`${p}fusion_layer.layer_norm_vision`, d);
    s.layerNorm(`${p}fusion_layer.layer_norm_text`, d);
    for (const n of ['vision_proj', 'text_proj', 'values_vision_proj', 'values_text_proj'])
      s.linear(`${p}fusion_layer.attn.${n}`, encFfn / 2, d);
    s.linear(`${p}fusion_layer.attn.out_vision_proj`, d, encFfn / 2);
    s.linear(`${p}fusion_layer.attn.out_text_proj`, d, encFfn / 2);
    s.tensor(`${p}fusion_layer.vision_param`, [d], 'bias');
    s.tensor(`${p}fusion_layer.text_param`, [d], 'bias');
    deformableAttention(s, `${p}deformable_layer.self_attn`, d, encHeads, levels, c.int('encoder_n_points'));
    s.layerNorm(`${p}deformable_layer.self_attn_layer_norm`, d);
    s.linear(`${p}deformable_layer.fc1`, encFfn, d);
    s.linear(`${p}deformable_layer.fc2`, d, encFfn);
    s.layerNorm(`${p}deformable_layer.final_layer_norm`, d);
  }

  const decLayers = c.int('decoder_layers');
  const decFfn = c.int('decoder_ffn_dim');
  s.layerNorm('model.decoder.layer_norm', d);
  mlpHead(s, 'model.decoder.reference_points_head', [2 * d, d, d]);
  for (let i = 0; i < decLayers; i++) {
    const p = `model.decoder.layers.${i}.`;
    multiheadAttention(s, `${p}self_attn`, d);
    s.layerNorm(`${p}self_attn_layer_norm`, d);
    multiheadAttention(s, `${p}encoder_attn_text`, d);
    s.layerNorm(`${p}encoder_attn_text_layer_norm`, d);
    deformableAttention(s, `${p}encoder_attn`, d, c.int('decoder_attention_heads'), levels, c.int('decoder_n_points'));
    s.layerNorm(`${p}encoder_attn_layer_norm`, d);
    s.linear(`${p}fc1`, decFfn, d);
    s.linear(`${p}fc2`, d, decFfn);
    s.layerNorm(`${p}final_layer_norm`, d);
  }
  const boxHeads = c.bool('decoder_bbox_embed_share', true) ? 1 : decLayers;
  for (let i = 0; i < boxHeads; i++) mlpHead(s, `bbox_embed.${i}`, [d, d, d, 4]);
  return s.spec;
}

/** BertModel(add_pooling_layer=False) under `model.text_backbone.` (its position_ids buffer is not saved). */
function bertStateDict(s: StateDictBuilder, t: ConfigReader): void {
  const p = TEXT_BACKBONE_PREFIX;
  const h = t.int('hidden_size', 768);
  const inter = t.int('intermediate_size', 3072);
  s.tensor(`${p}embeddings.word_embeddings.weight`, [t.int('vocab_size', 30522), h], 'normal');
  s.tensor(`${p}embeddings.position_embeddings.weight`, [t.int('max_position_embeddings', 512), h], 'normal');
  s.tensor(`${p}embeddings.token_type_embeddings.weight`, [t.int('type_vocab_size', 2), h], 'normal');
  s.layerNorm(`${p}embeddings.LayerNorm`, h);
  for (let i = 0; i < t.int('num_hidden_layers', 12); i++) {
    const l = `${p}encoder.layer.${i}.`;
    for (const n of ['query', 'key', 'value']) s.linear(`${l}attention.self.${n}`, h, h);
    s.linear(`${l}attention.output.dense`, h, h);
    s.layerNorm(`${l}attention.output.LayerNorm`, h);
    s.linear(`${l}intermediate.dense`, inter, h);
    s.linear(`${l}output.dense`, h, inter);
    s.layerNorm(`${l}output.LayerNorm`, h);
  }
}

function multiheadAttention(s: StateDictBuilder, prefix: string, d: number): void {
  for (const n of ['query', 'key', 'value', 'out_proj']) s.linear(`${prefix}.${n}`, d, d);
}

function deformableAttention(s: StateDictBuilder, prefix: string, d: number, heads: number, levels: number, points: number): void {
  s.linear(`${prefix}.sampling_offsets`, heads * levels * points * 2, d);
  s.linear(`${prefix}.attention_weights`, heads * levels * points, d);
  s.linear(`${prefix}.value_proj`, d, d);
  s.linear(`${prefix}.output_proj`, d, d);
}

function mlpHead(s: StateDictBuilder, prefix: string, dims: number[]): void {
  for (let i = 0; i < dims.length - 1; i++) s.linear(`${prefix}.layers.${i}`, dims[i + 1], dims[i]);
}
