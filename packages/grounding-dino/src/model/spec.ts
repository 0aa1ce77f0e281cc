import { ConfigReader, type RawConfig, VitkitError, type WeightStore } from '@vitkit/core/internal';
import { readSwinBackboneSpec, type SwinBackboneSpec } from '@vitkit/swin';

export const GROUNDING_DINO_ARCHITECTURES = ['GroundingDinoForObjectDetection'] as const;
export type GroundingDinoArchitecture = (typeof GROUNDING_DINO_ARCHITECTURES)[number];

/** Where the parts' weights live in a GroundingDinoForObjectDetection checkpoint. */
export const BACKBONE_PREFIX = 'model.backbone.conv_encoder.model.';
export const TEXT_BACKBONE_PREFIX = 'model.text_backbone.';

/** BertConfig, the text backbone (`text_config`). */
export interface BertSpec {
  hiddenSize: number;
  layers: number;
  heads: number;
  intermediateSize: number;
  eps: number;
  vocabSize: number;
  maxPositions: number;
  typeVocabSize: number;
}

/** GroundingDinoConfig, as transformers v5.2.0 reads it. */
export interface GroundingDinoSpec {
  architecture: GroundingDinoArchitecture;
  backbone: SwinBackboneSpec;
  text: BertSpec;
  dModel: number;
  numFeatureLevels: number;
  encoderLayers: number;
  decoderLayers: number;
  encoderHeads: number;
  decoderHeads: number;
  encoderFfn: number;
  decoderFfn: number;
  encoderPoints: number;
  decoderPoints: number;
  numQueries: number;
  maxTextLen: number;
  eps: number;
  /** `positional_embedding_temperature`: the image sine embedding's (the query and text ones keep 10000). */
  positionTemperature: number;
  /** `decoder_bbox_embed_share`: every decoder layer uses `bbox_embed.0`. */
  shareBboxEmbed: boolean;
}

/** What this build supports of GroundingDinoConfig's switches; anything else is refused by name. */
function requireSetting(c: ConfigReader, key: string, ok: (v: unknown) => boolean, what: string, fallback: unknown): void {
  const v = c.raw[key] ?? fallback;
  if (!ok(v))
    throw new VitkitError(
      'MODEL_TYPE_UNSUPPORTED',
      `@vitkit/grounding-dino builds ${what}; config.json has ${key} = ${JSON.stringify(v)}.`,
    );
}

export function readGroundingDinoSpec(raw: RawConfig, weights: WeightStore): GroundingDinoSpec {
  const c = new ConfigReader(raw);
  const architecture = (c.optional<string[]>('architectures')?.[0] ?? 'GroundingDinoForObjectDetection') as GroundingDinoArchitecture;
  if (!GROUNDING_DINO_ARCHITECTURES.includes(architecture)) {
    throw new VitkitError(
      'MODEL_TYPE_UNSUPPORTED',
      `@vitkit/grounding-dino cannot build "${architecture}". Supported: ${GROUNDING_DINO_ARCHITECTURES.join(', ')}.`,
    );
  }
  requireSetting(c, 'two_stage', (v) => v === true, 'two-stage query selection only', true);
  requireSetting(c, 'embedding_init_target', (v) => v === true, 'learned decoder targets (embedding_init_target) only', true);
  requireSetting(c, 'position_embedding_type', (v) => v === 'sine', 'the sine position embedding only', 'sine');
  requireSetting(c, 'activation_function', (v) => v === 'relu', 'relu feed-forwards only', 'relu');
  requireSetting(c, 'query_dim', (v) => v === 4, 'query_dim 4 (box queries) only', 4);
  requireSetting(c, 'two_stage_bbox_embed_share', (v) => v === false, 'a separate encoder box head only', false);
  requireSetting(c, 'use_timm_backbone', (v) => v === false, 'the Hugging Face Swin backbone only', false);

  const backboneRaw = c.optional<RawConfig>('backbone_config');
  if (!backboneRaw || typeof backboneRaw !== 'object') {
    throw new VitkitError('CONFIG_MISSING_KEY', 'config.json is missing "backbone_config", which this model needs.');
  }
  if (backboneRaw.model_type !== 'swin') {
    throw new VitkitError(
      'MODEL_TYPE_UNSUPPORTED',
      `@vitkit/grounding-dino builds a Swin backbone; backbone_config.model_type is ${JSON.stringify(backboneRaw.model_type)}.`,
    );
  }
  const backbone = readSwinBackboneSpec(backboneRaw, weights.scoped(BACKBONE_PREFIX));

  const textRaw = c.optional<RawConfig>('text_config');
  if (!textRaw || typeof textRaw !== 'object') {
    throw new VitkitError('CONFIG_MISSING_KEY', 'config.json is missing "text_config", which this model needs.');
  }
  const t = new ConfigReader(textRaw, 'config.json text_config');
  if ((textRaw.model_type ?? 'bert') !== 'bert' || t.string('hidden_act', 'gelu') !== 'gelu') {
    throw new VitkitError('MODEL_TYPE_UNSUPPORTED', '@vitkit/grounding-dino builds a BERT text encoder with exact GELU only.');
  }
  const text: BertSpec = {
    hiddenSize: t.int('hidden_size', 768),
    layers: t.int('num_hidden_layers', 12),
    heads: t.int('num_attention_heads', 12),
    intermediateSize: t.int('intermediate_size', 3072),
    eps: t.number('layer_norm_eps', 1e-12),
    vocabSize: t.int('vocab_size', 30522),
    maxPositions: t.int('max_position_embeddings', 512),
    typeVocabSize: t.int('type_vocab_size', 2),
  };

  const spec: GroundingDinoSpec = {
    architecture,
    backbone,
    text,
    dModel: c.int('d_model'),
    numFeatureLevels: c.int('num_feature_levels'),
    encoderLayers: c.int('encoder_layers'),
    decoderLayers: c.int('decoder_layers'),
    encoderHeads: c.int('encoder_attention_heads'),
    decoderHeads: c.int('decoder_attention_heads'),
    encoderFfn: c.int('encoder_ffn_dim'),
    decoderFfn: c.int('decoder_ffn_dim'),
    encoderPoints: c.int('encoder_n_points'),
    decoderPoints: c.int('decoder_n_points'),
    numQueries: c.int('num_queries'),
    maxTextLen: c.int('max_text_len'),
    eps: c.number('layer_norm_eps', 1e-5),
    positionTemperature: c.number('positional_embedding_temperature', 20),
    shareBboxEmbed: c.bool('decoder_bbox_embed_share', true),
  };
  checkDivisible(spec);
  return spec;
}

function checkDivisible(s: GroundingDinoSpec): void {
  const fail = (why: string) => new VitkitError('CONFIG_INVALID', `config.json: ${why}.`);
  if (s.dModel % 32 !== 0) throw fail(`d_model ${s.dModel} must be a multiple of 32 (the input projections' GroupNorm has 32 groups)`);
  if (s.dModel % s.encoderHeads !== 0 || s.dModel % s.decoderHeads !== 0) throw fail('d_model must split into the attention heads');
  if (s.encoderHeads < 2 || (s.encoderFfn / 2) % (s.encoderHeads / 2) !== 0) {
    throw fail('encoder_ffn_dim / 2 must split into encoder_attention_heads / 2 heads (the image-text fusion)');
  }
  if (s.numFeatureLevels < s.backbone.outIndices.length) throw fail('num_feature_levels must be at least the backbone outputs');
  if (s.text.hiddenSize % s.text.heads !== 0) throw fail('text_config.hidden_size must split into its attention heads');
}
