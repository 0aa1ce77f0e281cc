import {
  broadcastToken,
  ConfigReader,
  encoderStack,
  GraphBuilder,
  type GraphRequest,
  interpolatePositionEmbeddings,
  linear,
  norm,
  ops,
  outputAttentions,
  patchEmbedding,
  type RawConfig,
  readEncoderLayer,
  type Value,
  VitkitError,
  type WeightStore,
} from '@vitkit/core/internal';

/**
 * The DINO family as Hugging Face implements it: ViTModel (DINO v1), Dinov2Model,
 * Dinov2WithRegistersModel, and their image-classification heads. One graph builder serves all:
 *
 *   patch embedding → [CLS (+ registers)] + position embeddings → N pre-norm blocks → layernorm → head
 */
export const DINO_ARCHITECTURES = [
  'ViTModel',
  'Dinov2Model',
  'Dinov2ForImageClassification',
  'Dinov2WithRegistersModel',
  'Dinov2WithRegistersForImageClassification',
] as const;
export type DinoArchitecture = (typeof DINO_ARCHITECTURES)[number];

export interface DinoSpec {
  architecture: DinoArchitecture;
  flavour: 'vit' | 'dinov2' | 'dinov2_with_registers';
  hiddenSize: number;
  layers: number;
  heads: number;
  eps: number;
  patch: [number, number];
  registers: number;
  /** Checkpoint key prefix of the backbone ('' for base models, 'dinov2.' under a head). */
  prefix: string;
  classifier: boolean;
  pooler: 'vit-dense-tanh' | 'cls-after-norm';
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
  const flavour = architecture === 'ViTModel' ? 'vit' : architecture.startsWith('Dinov2WithRegisters') ? 'dinov2_with_registers' : 'dinov2';
  const classifier = architecture.endsWith('ForImageClassification');
  const prefix = weights.findPrefix('embeddings.cls_token', ['', 'dinov2.', 'vit.']) ?? '';
  return {
    architecture,
    flavour,
    hiddenSize: c.int('hidden_size'),
    layers: c.int('num_hidden_layers'),
    heads: c.int('num_attention_heads'),
    eps: c.number('layer_norm_eps', flavour === 'vit' ? 1e-12 : 1e-6),
    patch: c.pair('patch_size'),
    registers: flavour === 'dinov2_with_registers' ? c.int('num_register_tokens') : 0,
    prefix,
    classifier,
    pooler: flavour === 'vit' ? 'vit-dense-tanh' : 'cls-after-norm',
  };
}

function defaultArchitecture(modelType: string): string {
  return { vit: 'ViTModel', dinov2: 'Dinov2Model', dinov2_with_registers: 'Dinov2WithRegistersModel' }[modelType] ?? modelType;
}

export function buildDinoGraph(spec: DinoSpec, weights: WeightStore, req: GraphRequest): GraphBuilder {
  const { height, width } = req;
  const [ph, pw] = spec.patch;
  if (height < ph || width < pw) {
    throw new VitkitError('INPUT_SHAPE_INVALID', `Input ${height}x${width} is smaller than one ${ph}x${pw} patch.`);
  }
  const w = weights.scoped(spec.prefix);
  const g = new GraphBuilder({ name: spec.architecture, attentionKernel: req.attentionKernel });
  const pixels = g.input('pixel_values', 'float32', ['batch', 3, height, width]);

  const x = g.scope('embeddings', () => embeddings(g, spec, w, pixels, height, width));
  const { hidden, hiddenStates, attentions } = encoderStack(g, x, spec.layers, (i) => readEncoderLayer(w, `encoder.layer.${i}.`), {
    numHeads: spec.heads,
    eps: spec.eps,
    wantProbs: req.outputAttentions,
  });
  const sequence = norm(g, hidden, { weight: w.get('layernorm.weight'), bias: w.get('layernorm.bias') }, spec.eps, 'layernorm');

  if (spec.classifier) {
    g.output(classifierHead(g, spec, weights, sequence), 'logits');
  } else {
    g.output(sequence, 'last_hidden_state');
    const pooled = pooler(g, spec, w, sequence);
    if (pooled) g.output(pooled, 'pooler_output');
  }
  if (req.outputHiddenStates) hiddenStates.forEach((h, i) => g.output(h, `hidden_states_${i}`));
  if (req.outputAttentions) outputAttentions(g, attentions);
  return g;
}

/** [CLS] + patches + position embeddings (interpolated to this grid at build time); registers after CLS. */
function embeddings(g: GraphBuilder, spec: DinoSpec, w: WeightStore, pixels: Value, height: number, width: number): Value {
  const [ph, pw] = spec.patch;
  const gridH = Math.floor(height / ph);
  const gridW = Math.floor(width / pw);
  const patches = patchEmbedding(
    g,
    pixels,
    { weight: w.get('embeddings.patch_embeddings.projection.weight'), bias: w.get('embeddings.patch_embeddings.projection.bias') },
    spec.patch,
  );
  const cls = broadcastToken(g, w.get('embeddings.cls_token'), patches, 'cls_token');
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
    const regs = broadcastToken(g, w.get('embeddings.register_tokens'), patches, 'register_tokens');
    const clsPart = ops.slice(g, x, [0], [1], [1]);
    const rest = ops.slice(g, x, [1], [1 + gridH * gridW], [1]);
    x = ops.concat(g, [clsPart, regs, rest], 1);
  }
  return x;
}

function pooler(g: GraphBuilder, spec: DinoSpec, w: WeightStore, sequence: Value): Value | undefined {
  const cls = ops.gather(g, sequence, 0, 1); // [B, C]
  if (spec.pooler === 'cls-after-norm') return cls;
  if (!w.has('pooler.dense.weight')) return undefined; // ViTModel(add_pooling_layer=False)
  return ops.tanh(g, linear(g, cls, { weight: w.get('pooler.dense.weight'), bias: w.get('pooler.dense.bias') }, 'pooler.dense'));
}

/** Dinov2 heads: classifier(concat(CLS, mean of patch tokens)). */
function classifierHead(g: GraphBuilder, spec: DinoSpec, weights: WeightStore, sequence: Value): Value {
  const tokens = sequence.shape[1] as number;
  const cls = ops.gather(g, sequence, 0, 1);
  const patchMean = ops.reduceMean(g, ops.slice(g, sequence, [1 + spec.registers], [tokens], [1]), [1], false);
  const features = ops.concat(g, [cls, patchMean], 1);
  return linear(g, features, { weight: weights.get('classifier.weight'), bias: weights.get('classifier.bias') }, 'classifier');
}
