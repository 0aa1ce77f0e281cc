import {
  broadcastToken,
  ConfigReader,
  type EncoderLayerLayout,
  encoderStack,
  type GraphBuilder,
  type GraphOutputs,
  type GraphRequest,
  interpolatePositionEmbeddings,
  linear,
  norm,
  ops,
  patchEmbedding,
  type RawConfig,
  readEncoderLayer,
  readLinear,
  readNorm,
  readVector,
  type Value,
  VitkitError,
  type WeightStore,
} from '@vitkit/core/internal';
import { ropeRotation } from './rope.js';

/**
 * The DINO family as Hugging Face implements it: ViTModel (DINO v1), Dinov2Model,
 * Dinov2WithRegistersModel, their image-classification heads, and DINOv3ViTModel. One graph
 * builder serves all:
 *
 *   patch embedding → [CLS (+ registers)] + position embeddings → N pre-norm blocks → layernorm → head
 *
 * DINOv3 has no position embeddings: [CLS, registers, patches] go through blocks whose attention
 * rotates the patch tokens' queries and keys (2-D RoPE, see rope.ts).
 */
export const DINO_ARCHITECTURES = [
  'ViTModel',
  'Dinov2Model',
  'Dinov2ForImageClassification',
  'Dinov2WithRegistersModel',
  'Dinov2WithRegistersForImageClassification',
  'DINOv3ViTModel',
] as const;
export type DinoArchitecture = (typeof DINO_ARCHITECTURES)[number];

export interface DinoSpec {
  architecture: DinoArchitecture;
  flavour: 'vit' | 'dinov2' | 'dinov2_with_registers' | 'dinov3';
  hiddenSize: number;
  layers: number;
  heads: number;
  eps: number;
  patch: [number, number];
  registers: number;
  /** How the encoder layers are named and which feed-forward they have. */
  layout: EncoderLayerLayout;
  /** Checkpoint key prefix of the backbone ('' for base models, 'dinov2.' under a head). */
  prefix: string;
  classifier: boolean;
  pooler: 'vit-dense-tanh' | 'cls-after-norm';
  /** DINOv3's `rope_theta` (absent for the other flavours, which add learned position embeddings). */
  ropeTheta?: number;
}

export function readDinoSpec(raw: RawConfig, weights: WeightStore): DinoSpec {
  const c = new ConfigReader(raw);
  const architecture = (c.optional<string[]>('architectures')?.[0] ?? defaultArchitecture(c.string('model_type'))) as DinoArchitecture;
  if (!DINO_ARCHITECTURES.includes(architecture)) {
    throw new VitkitError(
      'MODEL_TYPE_UNSUPPORTED',
      `@vitkit/dino cannot build "${architecture}". Supported: ${DINO_ARCHITECTURES.join(', ')}.`,
    );
  }
  if (architecture === 'DINOv3ViTModel') return readDinov3Spec(c);
  const flavour = architecture === 'ViTModel' ? 'vit' : architecture.startsWith('Dinov2WithRegisters') ? 'dinov2_with_registers' : 'dinov2';
  const classifier = architecture.endsWith('ForImageClassification');
  // Heads keep the backbone under the base model's attribute name (`dinov2.`, `dinov2_with_registers.`, `vit.`).
  const prefix = weights.findPrefix('embeddings.cls_token', ['', 'dinov2.', 'dinov2_with_registers.', 'vit.']) ?? '';
  return {
    architecture,
    flavour,
    hiddenSize: c.int('hidden_size'),
    layers: c.int('num_hidden_layers'),
    heads: c.int('num_attention_heads'),
    eps: c.number('layer_norm_eps', flavour === 'vit' ? 1e-12 : 1e-6),
    patch: c.pair('patch_size'),
    registers: flavour === 'dinov2_with_registers' ? c.int('num_register_tokens') : 0,
    layout: { naming: flavour === 'vit' ? 'vit' : 'dinov2', ffn: flavour !== 'vit' && c.bool('use_swiglu_ffn', false) ? 'swiglu' : 'mlp' },
    prefix,
    classifier,
    pooler: flavour === 'vit' ? 'vit-dense-tanh' : 'cls-after-norm',
  };
}

/** DINOv3ViTConfig. The sizes are required (as for DINOv2); the switches default as transformers' config does. */
function readDinov3Spec(c: ConfigReader): DinoSpec {
  const act = c.string('hidden_act', 'gelu');
  if (act !== 'gelu' && act !== 'silu' && act !== 'swish') {
    throw new VitkitError('CONFIG_INVALID', `DINOv3: hidden_act "${act}" is not supported; vitkit builds "gelu" (exact) and "silu".`);
  }
  const hiddenSize = c.int('hidden_size');
  const heads = c.int('num_attention_heads');
  if (hiddenSize % heads !== 0 || (hiddenSize / heads) % 4 !== 0) {
    throw new VitkitError(
      'CONFIG_INVALID',
      `DINOv3: hidden_size ${hiddenSize} / num_attention_heads ${heads} must be a head size divisible by 4 (the 2-D rotary embedding splits it in quarters).`,
    );
  }
  return {
    architecture: 'DINOv3ViTModel',
    flavour: 'dinov3',
    hiddenSize,
    layers: c.int('num_hidden_layers'),
    heads,
    eps: c.number('layer_norm_eps', 1e-5),
    patch: c.pair('patch_size'),
    registers: c.int('num_register_tokens', 0),
    layout: {
      naming: 'dinov3',
      ffn: c.bool('use_gated_mlp', false) ? 'gated' : 'mlp',
      act: act === 'gelu' ? 'gelu' : 'silu',
      biases: {
        query: c.bool('query_bias', true),
        key: c.bool('key_bias', false),
        value: c.bool('value_bias', true),
        proj: c.bool('proj_bias', true),
        mlp: c.bool('mlp_bias', true),
      },
    },
    prefix: '',
    classifier: false,
    pooler: 'cls-after-norm',
    ropeTheta: c.number('rope_theta', 100),
  };
}

/** The class a config.json without `architectures` is, by its `model_type`. */
export const DINO_MODEL_TYPES: Readonly<Record<string, DinoArchitecture>> = {
  vit: 'ViTModel',
  dinov2: 'Dinov2Model',
  dinov2_with_registers: 'Dinov2WithRegistersModel',
  dinov3_vit: 'DINOv3ViTModel',
};

function defaultArchitecture(modelType: string): string {
  return DINO_MODEL_TYPES[modelType] ?? modelType;
}

export function buildDinoGraph(
  g: GraphBuilder,
  { pixel_values: pixels }: Readonly<Record<string, Value>>,
  spec: DinoSpec,
  weights: WeightStore,
  req: GraphRequest,
): GraphOutputs {
  const [, , height, width] = pixels.shape as number[];
  const w = weights.scoped(spec.prefix);
  const v3 = spec.flavour === 'dinov3';

  const x = g.scope('embeddings', () => (v3 ? dinov3Embeddings(g, spec, w, pixels) : embeddings(g, spec, w, pixels, height, width)));
  // DINOv3's rotary tables follow this graph's own patch grid, built once and shared by every layer.
  const rotate =
    spec.ropeTheta === undefined
      ? undefined
      : ropeRotation(g, {
          prefixTokens: 1 + spec.registers,
          gridH: Math.floor(height / spec.patch[0]),
          gridW: Math.floor(width / spec.patch[1]),
          heads: spec.heads,
          headDim: spec.hiddenSize / spec.heads,
          theta: spec.ropeTheta,
        });
  const { hidden, hiddenStates, attentions } = encoderStack(
    g,
    x,
    spec.layers,
    (i) => readEncoderLayer(w, v3 ? `layer.${i}.` : `encoder.layer.${i}.`, spec.hiddenSize, spec.layout),
    {
      numHeads: spec.heads,
      eps: spec.eps,
      wantProbs: req.outputAttentions,
      rotate,
    },
  );
  const normName = v3 ? 'norm' : 'layernorm';
  const sequence = norm(g, hidden, readNorm(w, normName, spec.hiddenSize), spec.eps, normName);

  const outputs = spec.classifier
    ? { logits: classifierHead(g, spec, weights, sequence) }
    : { last_hidden_state: sequence, pooler_output: pooler(g, spec, w, sequence) };
  return {
    outputs,
    tuples: {
      ...(req.outputHiddenStates ? { hidden_states: hiddenStates } : {}),
      ...(req.outputAttentions ? { attentions } : {}),
    },
  };
}

/** [CLS] + patches + position embeddings (interpolated to this grid at build time); registers after CLS. */
function embeddings(g: GraphBuilder, spec: DinoSpec, w: WeightStore, pixels: Value, height: number, width: number): Value {
  const [ph, pw] = spec.patch;
  const gridH = Math.floor(height / ph);
  const gridW = Math.floor(width / pw);
  const patches = patchEmbedding(g, pixels, readPatchProjection(w, spec), spec.patch);
  const cls = broadcastToken(g, w.get('embeddings.cls_token', [1, 1, spec.hiddenSize]), patches, 'cls_token');
  let x = ops.concat(g, [cls, patches], 1);
  // Each HF class's interpolate_pos_encoding (transformers 4.49): bicubic, align_corners=False; the
  // registers variant also passes antialias=True.
  const pos = interpolatePositionEmbeddings(w.get('embeddings.position_embeddings'), {
    prefixTokens: 1,
    gridH,
    gridW,
    antialias: spec.flavour === 'dinov2_with_registers',
  });
  x = ops.add(g, x, g.constant(pos, 'position_embeddings'));
  if (spec.registers > 0) {
    // Registers carry no position embedding: they are inserted after it is added.
    const regs = broadcastToken(g, w.get('embeddings.register_tokens', [1, spec.registers, spec.hiddenSize]), patches, 'register_tokens');
    const clsPart = ops.slice(g, x, [0], [1], [1]);
    const rest = ops.slice(g, x, [1], [1 + gridH * gridW], [1]);
    x = ops.concat(g, [clsPart, regs, rest], 1);
  }
  return x;
}

/** DINOv3: [CLS, registers, patches], no position embedding (the rotary one acts inside attention). */
function dinov3Embeddings(g: GraphBuilder, spec: DinoSpec, w: WeightStore, pixels: Value): Value {
  const patches = patchEmbedding(g, pixels, readPatchProjection(w, spec), spec.patch);
  const tokens = [broadcastToken(g, w.get('embeddings.cls_token', [1, 1, spec.hiddenSize]), patches, 'cls_token')];
  if (spec.registers > 0) {
    tokens.push(broadcastToken(g, w.get('embeddings.register_tokens', [1, spec.registers, spec.hiddenSize]), patches, 'register_tokens'));
  }
  return ops.concat(g, [...tokens, patches], 1);
}

/** The patch projection conv: weight [C, 3, ph, pw], bias [C] (DINOv3's conv is `patch_embeddings` itself). */
function readPatchProjection(w: WeightStore, spec: DinoSpec) {
  const name = spec.flavour === 'dinov3' ? 'embeddings.patch_embeddings' : 'embeddings.patch_embeddings.projection';
  return { weight: w.get(`${name}.weight`, [spec.hiddenSize, 3, ...spec.patch]), bias: readVector(w, `${name}.bias`, spec.hiddenSize) };
}

function pooler(g: GraphBuilder, spec: DinoSpec, w: WeightStore, sequence: Value): Value | undefined {
  const cls = ops.gather(g, sequence, 0, 1); // [B, C]
  if (spec.pooler === 'cls-after-norm') return cls;
  if (!w.has('pooler.dense.weight')) return undefined; // ViTModel(add_pooling_layer=False)
  return ops.tanh(
    g,
    linear(g, cls, readLinear(w, 'pooler.dense', { inFeatures: spec.hiddenSize, outFeatures: spec.hiddenSize }), 'pooler.dense'),
  );
}

/** Dinov2 heads: classifier(concat(CLS, mean of patch tokens)). */
function classifierHead(g: GraphBuilder, spec: DinoSpec, weights: WeightStore, sequence: Value): Value {
  const tokens = sequence.shape[1] as number;
  const cls = ops.gather(g, sequence, 0, 1);
  const patchMean = ops.reduceMean(g, ops.slice(g, sequence, [1 + spec.registers], [tokens], [1]), [1], false);
  const features = ops.concat(g, [cls, patchMean], 1);
  return linear(g, features, readLinear(weights, 'classifier', { inFeatures: 2 * spec.hiddenSize }), 'classifier');
}
