import {
  broadcastToken,
  ConfigReader,
  type EncoderBlockWeights,
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

function defaultArchitecture(modelType: string): string {
  return modelType === 'deit' ? 'DeiTModel' : modelType;
}

export function buildDeitGraph(spec: DeitSpec, weights: WeightStore, req: GraphRequest): GraphBuilder {
  const { height, width } = req;
  const [ph, pw] = spec.patch;
  if (height < ph || width < pw) {
    throw new VitkitError('INPUT_SHAPE_INVALID', `Input ${height}x${width} is smaller than one ${ph}x${pw} patch.`);
  }
  const w = weights.scoped(spec.prefix);
  const g = new GraphBuilder({ name: spec.architecture, attentionKernel: req.attentionKernel });
  const pixels = g.input('pixel_values', 'float32', ['batch', spec.channels, height, width]);

  const x = g.scope('embeddings', () => embeddings(g, spec, w, pixels, Math.floor(height / ph), Math.floor(width / pw)));
  const { hidden, hiddenStates, attentions } = encoderStack(g, x, spec.layers, (i) => checkedLayer(w, `encoder.layer.${i}.`, spec), {
    numHeads: spec.heads,
    eps: spec.eps,
    wantProbs: req.outputAttentions,
  });
  const C = spec.hiddenSize;
  const sequence = norm(g, hidden, { weight: w.get('layernorm.weight', [C]), bias: w.get('layernorm.bias', [C]) }, spec.eps, 'layernorm');

  if (spec.head === 'none') {
    g.output(sequence, 'last_hidden_state');
    if (w.has('pooler.dense.weight')) g.output(pooler(g, w, sequence, C), 'pooler_output');
  } else if (spec.head === 'classifier') {
    g.output(classifier(g, weights, 'classifier', ops.gather(g, sequence, 0, 1), spec), 'logits');
  } else {
    // The distilled head: one classifier on CLS, one on DIST; at inference their mean.
    const cls = classifier(g, weights, 'cls_classifier', ops.gather(g, sequence, 0, 1), spec);
    const dist = classifier(g, weights, 'distillation_classifier', ops.gather(g, sequence, 1, 1), spec);
    const mean = ops.mul(g, ops.add(g, cls, dist), g.constant(Tensor.fromFloat32([0.5], []), 'half'));
    g.output(mean, 'logits');
    g.output(cls, 'cls_logits');
    g.output(dist, 'distillation_logits');
  }
  if (req.outputHiddenStates) hiddenStates.forEach((h, i) => g.output(h, `hidden_states_${i}`));
  if (req.outputAttentions) outputAttentions(g, attentions);
  return g;
}

/** [CLS, DIST] + patches, plus position embeddings interpolated to this grid at build time. */
function embeddings(g: GraphBuilder, spec: DeitSpec, w: WeightStore, pixels: Value, gridH: number, gridW: number): Value {
  const C = spec.hiddenSize;
  const patches = patchEmbedding(
    g,
    pixels,
    {
      weight: w.get('embeddings.patch_embeddings.projection.weight', [C, spec.channels, ...spec.patch]),
      bias: w.get('embeddings.patch_embeddings.projection.bias', [C]),
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
  const weight = w.get('pooler.dense.weight');
  if (weight.rank !== 2 || weight.shape[1] !== C) {
    throw new VitkitError(
      'WEIGHTS_SHAPE_MISMATCH',
      `${w.source}: "pooler.dense.weight" has shape [${weight.shape.join(', ')}], expected [out, ${C}].`,
    );
  }
  const cls = ops.gather(g, sequence, 0, 1);
  return ops.tanh(g, linear(g, cls, { weight, bias: w.get('pooler.dense.bias', [weight.shape[0]]) }, 'pooler.dense'));
}

function classifier(g: GraphBuilder, weights: WeightStore, name: string, token: Value, spec: DeitSpec): Value {
  const weight = weights.get(`${name}.weight`, [spec.numLabels, spec.hiddenSize]);
  return linear(g, token, { weight, bias: weights.get(`${name}.bias`, [spec.numLabels]) }, name);
}

/** Reads one encoder layer and holds every tensor to the shape config.json implies. */
function checkedLayer(w: WeightStore, prefix: string, spec: DeitSpec): EncoderBlockWeights {
  const layer = readEncoderLayer(w, prefix);
  const C = spec.hiddenSize;
  const I = spec.intermediateSize;
  const expect = (t: Tensor | undefined, shape: number[], name: string) => {
    if (t && (t.rank !== shape.length || t.shape.some((d, i) => d !== shape[i]))) {
      throw new VitkitError(
        'WEIGHTS_SHAPE_MISMATCH',
        `${w.source}: tensor "${prefix}${name}" has shape [${t.shape.join(', ')}] but config.json implies [${shape.join(', ')}].`,
      );
    }
  };
  expect(layer.norm1.weight, [C], 'layernorm_before.weight');
  expect(layer.norm1.bias, [C], 'layernorm_before.bias');
  expect(layer.norm2.weight, [C], 'layernorm_after.weight');
  expect(layer.norm2.bias, [C], 'layernorm_after.bias');
  for (const [key, lin] of [
    ['attention.attention.query', layer.query],
    ['attention.attention.key', layer.key],
    ['attention.attention.value', layer.value],
    ['attention.output.dense', layer.attnOut],
  ] as const) {
    expect(lin.weight, [C, C], `${key}.weight`);
    expect(lin.bias, [C], `${key}.bias`);
  }
  if (layer.ffn.kind !== 'mlp') throw new VitkitError('MODEL_TYPE_UNSUPPORTED', `${w.source}: DeiT layers have a GELU MLP, not SwiGLU.`);
  expect(layer.ffn.fc1.weight, [I, C], 'intermediate.dense.weight');
  expect(layer.ffn.fc1.bias, [I], 'intermediate.dense.bias');
  expect(layer.ffn.fc2.weight, [C, I], 'output.dense.weight');
  expect(layer.ffn.fc2.bias, [C], 'output.dense.bias');
  return layer;
}
