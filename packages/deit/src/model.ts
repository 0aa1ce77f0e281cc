import {
  broadcastToken,
  ConfigReader,
  type EncoderBlockWeights,
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
  Tensor,
  type Value,
  VitkitError,
  type WeightStore,
} from '@vitkit/core/internal';

/**
 * DeiT as Hugging Face implements it (transformers 4.49): DeiTModel and its two image-classification
 * heads. The paper's picture, in order:
 *
 *   patch embedding → [CLS, DIST] + position embeddings → N pre-norm blocks → layernorm → head(s)
 */
export const DEIT_ARCHITECTURES = ['DeiTModel', 'DeiTForImageClassification', 'DeiTForImageClassificationWithTeacher'] as const;
export type DeitArchitecture = (typeof DEIT_ARCHITECTURES)[number];

export interface DeitSpec {
  architecture: DeitArchitecture;
  hiddenSize: number;
  intermediateSize: number;
  layers: number;
  heads: number;
  eps: number;
  patch: [number, number];
  channels: number;
  /** Checkpoint key prefix of the backbone ('' for DeiTModel, 'deit.' under a head). */
  prefix: string;
  head: 'none' | 'classifier' | 'with-teacher';
  numLabels: number;
}

/** The CLS and distillation tokens come before the patch grid. */
const PREFIX_TOKENS = 2;

export function readDeitSpec(raw: RawConfig, weights: WeightStore): DeitSpec {
  const c = new ConfigReader(raw);
  const architecture = (c.optional<string[]>('architectures')?.[0] ?? defaultArchitecture(c.string('model_type'))) as DeitArchitecture;
  if (!DEIT_ARCHITECTURES.includes(architecture)) {
    throw new VitkitError(
      'MODEL_TYPE_UNSUPPORTED',
      `@vitkit/deit cannot build "${architecture}". Supported: ${DEIT_ARCHITECTURES.join(', ')}.`,
    );
  }
  const act = c.string('hidden_act', 'gelu');
  if (act !== 'gelu') throw new VitkitError('MODEL_TYPE_UNSUPPORTED', `@vitkit/deit supports hidden_act "gelu", not "${act}".`);
  const poolerAct = c.string('pooler_act', 'tanh');
  if (poolerAct !== 'tanh') throw new VitkitError('MODEL_TYPE_UNSUPPORTED', `@vitkit/deit supports pooler_act "tanh", not "${poolerAct}".`);
  const hiddenSize = c.int('hidden_size');
  const heads = c.int('num_attention_heads');
  if (heads === 0 || hiddenSize % heads !== 0) {
    throw new VitkitError('CONFIG_INVALID', `config.json: hidden_size ${hiddenSize} does not split into ${heads} attention heads.`);
  }
  const head = architecture === 'DeiTModel' ? 'none' : architecture === 'DeiTForImageClassification' ? 'classifier' : 'with-teacher';
  const prefix = head === 'none' ? '' : 'deit.';
  const probe = `${prefix}embeddings.cls_token`;
  if (!weights.has(probe)) {
    throw new VitkitError(
      'WEIGHTS_MISSING_TENSOR',
      `${weights.source} has no tensor "${probe}": it does not look like a ${architecture} checkpoint.`,
    );
  }
  const classifierKey = head === 'with-teacher' ? 'cls_classifier.weight' : 'classifier.weight';
  return {
    architecture,
    hiddenSize,
    intermediateSize: c.int('intermediate_size'),
    layers: c.int('num_hidden_layers'),
    heads,
    eps: c.number('layer_norm_eps', 1e-12),
    patch: c.pair('patch_size'),
    channels: c.int('num_channels', 3),
    prefix,
    head,
    // A head's width is the checkpoint's; id2label (when present) must agree with it.
    numLabels: head === 'none' ? 0 : (weights.shapeOf(classifierKey)[0] ?? 0),
  };
}

/** The class a config.json without `architectures` is, by its `model_type`. */
export const DEIT_MODEL_TYPES: Readonly<Record<string, DeitArchitecture>> = { deit: 'DeiTModel' };

function defaultArchitecture(modelType: string): string {
  return DEIT_MODEL_TYPES[modelType] ?? modelType;
}

export function buildDeitGraph(
  g: GraphBuilder,
  { pixel_values: pixels }: Readonly<Record<string, Value>>,
  spec: DeitSpec,
  weights: WeightStore,
  req: GraphRequest,
): GraphOutputs {
  const [, , height, width] = pixels.shape as number[];
  const w = weights.scoped(spec.prefix);

  const [ph, pw] = spec.patch;
  const x = g.scope('embeddings', () => embeddings(g, spec, w, pixels, Math.floor(height / ph), Math.floor(width / pw)));
  const { hidden, hiddenStates, attentions } = encoderStack(g, x, spec.layers, (i) => deitLayer(w, `encoder.layer.${i}.`, spec), {
    numHeads: spec.heads,
    eps: spec.eps,
    wantProbs: req.outputAttentions,
  });
  const C = spec.hiddenSize;
  const sequence = norm(g, hidden, readNorm(w, 'layernorm', C), spec.eps, 'layernorm');

  let outputs: GraphOutputs['outputs'];
  if (spec.head === 'none') {
    outputs = { last_hidden_state: sequence, pooler_output: w.has('pooler.dense.weight') ? pooler(g, w, sequence, C) : undefined };
  } else if (spec.head === 'classifier') {
    outputs = { logits: classifier(g, weights, 'classifier', ops.gather(g, sequence, 0, 1), spec) };
  } else {
    // The distilled head: one classifier on CLS, one on DIST; at inference their mean.
    const cls = classifier(g, weights, 'cls_classifier', ops.gather(g, sequence, 0, 1), spec);
    const dist = classifier(g, weights, 'distillation_classifier', ops.gather(g, sequence, 1, 1), spec);
    const mean = ops.mul(g, ops.add(g, cls, dist), g.constant(Tensor.fromFloat32([0.5], []), 'half'));
    outputs = { logits: mean, cls_logits: cls, distillation_logits: dist };
  }
  return {
    outputs,
    tuples: {
      ...(req.outputHiddenStates ? { hidden_states: hiddenStates } : {}),
      ...(req.outputAttentions ? { attentions } : {}),
    },
  };
}

/** [CLS, DIST] + patches, plus position embeddings interpolated to this grid at build time. */
function embeddings(g: GraphBuilder, spec: DeitSpec, w: WeightStore, pixels: Value, gridH: number, gridW: number): Value {
  const C = spec.hiddenSize;
  const patches = patchEmbedding(
    g,
    pixels,
    {
      weight: w.get('embeddings.patch_embeddings.projection.weight', [C, spec.channels, ...spec.patch]),
      bias: readVector(w, 'embeddings.patch_embeddings.projection.bias', C),
    },
    spec.patch,
  );
  const tokens = ops.concat(
    g,
    [
      broadcastToken(g, w.get('embeddings.cls_token', [1, 1, C]), patches, 'cls_token'),
      broadcastToken(g, w.get('embeddings.distillation_token', [1, 1, C]), patches, 'distillation_token'),
      patches,
    ],
    1,
  );
  const pos = w.get('embeddings.position_embeddings');
  if (pos.rank !== 3 || pos.shape[0] !== 1 || pos.shape[2] !== C || pos.shape[1] <= PREFIX_TOKENS) {
    throw new VitkitError(
      'WEIGHTS_SHAPE_MISMATCH',
      `${w.source}: "embeddings.position_embeddings" has shape [${pos.shape.join(', ')}], expected [1, 2 + patches, ${C}].`,
    );
  }
  // DeiTEmbeddings.interpolate_pos_encoding: bicubic, align_corners=False, both prefix embeddings kept.
  const interpolated = interpolatePositionEmbeddings(pos, { prefixTokens: PREFIX_TOKENS, gridH, gridW });
  return ops.add(g, tokens, g.constant(interpolated, 'position_embeddings'));
}

/** DeiTPooler: tanh(dense(CLS)). */
function pooler(g: GraphBuilder, w: WeightStore, sequence: Value, C: number): Value {
  const cls = ops.gather(g, sequence, 0, 1);
  return ops.tanh(g, linear(g, cls, readLinear(w, 'pooler.dense', { inFeatures: C, bias: 'required' }), 'pooler.dense'));
}

function classifier(g: GraphBuilder, weights: WeightStore, name: string, token: Value, spec: DeitSpec): Value {
  const head = readLinear(weights, name, { inFeatures: spec.hiddenSize, outFeatures: spec.numLabels, bias: 'required' });
  return linear(g, token, head, name);
}

/** One encoder layer, every tensor held to the shapes config.json implies (the MLP is intermediate_size wide). */
function deitLayer(w: WeightStore, prefix: string, spec: DeitSpec): EncoderBlockWeights {
  const layer = readEncoderLayer(w, prefix, spec.hiddenSize, { naming: 'vit', ffn: 'mlp' });
  const inner = layer.ffn.kind === 'mlp' ? layer.ffn.fc1.weight.shape[0] : 0;
  if (inner !== spec.intermediateSize) {
    throw new VitkitError(
      'WEIGHTS_SHAPE_MISMATCH',
      `${w.source}: tensor "${prefix}intermediate.dense.weight" has ${inner} outputs but config.json's intermediate_size is ${spec.intermediateSize}.`,
    );
  }
  return layer;
}
