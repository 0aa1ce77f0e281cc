import {
  ConfigReader,
  type GraphBuilder,
  type GraphOutputs,
  type GraphRequest,
  linear,
  norm,
  ops,
  type RawConfig,
  readId2Label,
  readLinear,
  readNorm,
  Tensor,
  type Value,
  VitkitError,
  type WeightStore,
} from '@vitkit/core/internal';
import { resnetBackbone } from './backbone.js';
import { BACKBONE_SCOPE, type BackboneSpec, readBackboneSpec } from './backbone-spec.js';
import { type MaskHeadSpec, maskHeadGraph, readMaskHeadSpec } from './mask-head.js';
import { downsampleMask } from './pixel-mask.js';
import { type SineTrig, sinePositionEmbeddingGraph } from './position-embedding.js';
import { type Activation, DETR_LN_EPS, decoderLayer, encoderLayer } from './transformer.js';

/**
 * DETR (Carion et al., 2020) as transformers v4.49 implements it:
 *
 *   ResNet (frozen BN) → 1x1 input projection → + sine position embedding of the (downsampled) mask
 *   → post-norm transformer encoder → decoder over learned object queries → class and box heads
 */
export const DETR_ARCHITECTURES = ['DetrForObjectDetection', 'DetrForSegmentation', 'DetrModel'] as const;
export type DetrArchitecture = (typeof DETR_ARCHITECTURES)[number];

export interface DetrSpec {
  architecture: DetrArchitecture;
  /**
   * Key prefix of the DetrModel part ('model.' under the detection head, 'detr.model.' under the
   * segmentation head, '' for a bare DetrModel).
   */
  prefix: string;
  /** Key prefix of the class and box heads ('detr.' in DetrForSegmentation, else ''). */
  headPrefix: string;
  /** DetrForSegmentation's bbox attention and mask head. */
  maskHead?: MaskHeadSpec;
  backbone: BackboneSpec;
  dModel: number;
  encoderLayers: number;
  decoderLayers: number;
  encoderHeads: number;
  decoderHeads: number;
  numQueries: number;
  activation: Activation;
  /** With `auxiliary_loss`, transformers layer-norms every decoder layer's output before the next layer. */
  auxiliaryLoss: boolean;
  /** Linear layers of the box MLP (3 in DETR). */
  bboxLayers: number;
  /** `id2label` (class names), when config.json has one. */
  id2label?: Record<number, string>;
}

export function readDetrSpec(raw: RawConfig, weights: WeightStore): DetrSpec {
  const c = new ConfigReader(raw);
  const modelType = c.optional<string>('model_type');
  if (modelType !== undefined && modelType !== 'detr') {
    throw new VitkitError('MODEL_TYPE_UNSUPPORTED', `@vitkit/detr builds DETR checkpoints (model_type "detr"), not "${modelType}".`);
  }
  const architecture = (c.optional<string[]>('architectures')?.[0] ??
    (weights.has('mask_head.lay1.weight')
      ? 'DetrForSegmentation'
      : weights.has('class_labels_classifier.weight')
        ? 'DetrForObjectDetection'
        : 'DetrModel')) as DetrArchitecture;
  if (!DETR_ARCHITECTURES.includes(architecture)) {
    throw new VitkitError(
      'MODEL_TYPE_UNSUPPORTED',
      `@vitkit/detr cannot build "${architecture}". Supported: ${DETR_ARCHITECTURES.join(', ')}.`,
    );
  }
  const positionType = c.string('position_embedding_type', 'sine');
  if (positionType !== 'sine') {
    throw new VitkitError('MODEL_TYPE_UNSUPPORTED', `DETR position_embedding_type "${positionType}" is not supported (only "sine").`);
  }
  const activation = c.string('activation_function', 'relu');
  if (activation !== 'relu' && activation !== 'gelu') {
    throw new VitkitError('MODEL_TYPE_UNSUPPORTED', `DETR activation_function "${activation}" is not supported (relu, gelu).`);
  }
  const segmentation = architecture === 'DetrForSegmentation';
  const prefix = weights.findPrefix('input_projection.weight', segmentation ? ['detr.model.'] : ['model.', '']);
  if (prefix === undefined) {
    throw new VitkitError(
      'WEIGHTS_MISSING_TENSOR',
      `${weights.source} has no ${segmentation ? 'detr.model.input_projection.weight' : 'input_projection.weight (nor model.input_projection.weight)'}: is it a ${architecture} checkpoint?`,
    );
  }
  const backbone = readBackboneSpec(raw, weights.scoped(prefix + BACKBONE_SCOPE));
  const dModel = c.int('d_model');
  if (dModel % 2 !== 0 || (dModel / 2) % 2 !== 0) {
    throw new VitkitError(
      'CONFIG_INVALID',
      `d_model ${dModel} must be a multiple of 4 (the sine embedding interleaves sin/cos over d_model / 2 features).`,
    );
  }
  const headPrefix = segmentation ? 'detr.' : '';
  let bboxLayers = 0;
  while (weights.has(`${headPrefix}bbox_predictor.layers.${bboxLayers}.weight`)) bboxLayers++;
  const encoderHeads = c.int('encoder_attention_heads');
  const labels = readId2Label(raw);
  return {
    architecture,
    prefix,
    headPrefix,
    maskHead: segmentation ? readMaskHeadSpec(weights, dModel, encoderHeads) : undefined,
    backbone,
    dModel,
    encoderLayers: c.int('encoder_layers'),
    decoderLayers: c.int('decoder_layers'),
    encoderHeads,
    decoderHeads: c.int('decoder_attention_heads'),
    numQueries: c.int('num_queries'),
    activation,
    auxiliaryLoss: c.bool('auxiliary_loss', false),
    bboxLayers,
    id2label: labels ? Object.fromEntries(labels) : undefined,
  };
}

export interface DetrBuildOptions {
  /** Fold frozen batch norms into the backbone convolutions (default true). */
  foldBatchNorm?: boolean;
  /** Sin / cos of the position embedding (default 'onnx'; `Detr` picks 'polynomial' on WebGPU, see `SineTrig`). */
  sineTrig?: SineTrig;
}

/**
 * The DETR graph on `pixel_values` [B, 3, H, W] and `pixel_mask` [B, H, W] (float 0/1); outputs
 * named as transformers names them. H and W may be symbolic: nothing below is a constant of the
 * input size, so one graph serves every size.
 */
export function buildDetrGraph(
  g: GraphBuilder,
  inputs: Readonly<Record<string, Value>>,
  spec: DetrSpec,
  weights: WeightStore,
  req: GraphRequest,
  options: DetrBuildOptions = {},
): GraphOutputs {
  const w = weights.scoped(spec.prefix);
  const { pixel_values: pixels, pixel_mask: pixelMask } = inputs;
  if (!pixelMask) throw new VitkitError('GRAPH_INVALID', 'The DETR graph needs a pixel_mask input (all ones when nothing is padded).');

  // 1. Backbone → feature map [B, Cb, h, w].
  const stages = g.scope('backbone', () =>
    resnetBackbone(g, pixels, spec.backbone, w.scoped(BACKBONE_SCOPE), { foldBatchNorm: options.foldBatchNorm ?? true }),
  );
  const features = stages[stages.length - 1];
  const [, , fh, fw] = features.shape;
  if (typeof fh === 'number' && typeof fw === 'number' && !(fh > 0 && fw > 0)) {
    const [, , height, width] = pixels.shape;
    throw new VitkitError(
      'INPUT_SHAPE_INVALID',
      `Input ${height}x${width} is too small for the ${spec.backbone.description} backbone (feature map ${fh}x${fw}).`,
    );
  }
  const d = spec.dModel;

  // 2. Input projection (1x1 conv) and flatten to tokens [B, h*w, d].
  const projected = ops.conv2d(
    g,
    features,
    g.constant(w.get('input_projection.weight').toFloat32(), 'input_projection.weight'),
    g.constant(w.get('input_projection.bias').toFloat32(), 'input_projection.bias'),
  );
  const flat = ops.transpose(g, ops.reshape(g, projected, [0, d, -1]), [0, 2, 1]);

  // 3. Mask downsampled to the feature map (nearest) → sine position embedding and key padding.
  const m = g.scope('mask', () => downsampleMask(g, pixelMask, features));
  const pos = g.scope('position_embedding', () => sinePositionEmbeddingGraph(g, m, d, options.sineTrig));
  const keyMask = ops.reshape(g, m, [0, -1]);

  // 4. Encoder.
  const wantProbs = req.outputAttentions;
  let x = flat;
  const encoderStates: Value[] = [x];
  const encoderAttentions: Value[] = [];
  for (let i = 0; i < spec.encoderLayers; i++) {
    const out = g.scope(`encoder.layers.${i}`, () =>
      encoderLayer(g, w.scoped(`encoder.layers.${i}.`), x, pos, keyMask, {
        numHeads: spec.encoderHeads,
        activation: spec.activation,
        wantProbs,
      }),
    );
    x = out.hidden;
    encoderStates.push(x);
    if (out.probs) encoderAttentions.push(out.probs);
  }
  const memory = x;

  // 5. Decoder: zero queries with learned query position embeddings.
  const queryPos = g.constant(
    w.get('query_position_embeddings.weight', [spec.numQueries, d]).toFloat32().reshape([1, spec.numQueries, d]),
    'query_position_embeddings',
  );
  let q = zeroQueries(g, memory, spec.numQueries, d);
  const decoderStates: Value[] = [];
  const selfAttentions: Value[] = [];
  const crossAttentions: Value[] = [];
  const decoderNorm = readNorm(w, 'decoder.layernorm', d);
  for (let i = 0; i < spec.decoderLayers; i++) {
    decoderStates.push(q);
    const out = g.scope(`decoder.layers.${i}`, () =>
      decoderLayer(g, w.scoped(`decoder.layers.${i}.`), q, queryPos, memory, pos, keyMask, {
        numHeads: spec.decoderHeads,
        activation: spec.activation,
        wantProbs,
      }),
    );
    q = out.hidden;
    if (spec.auxiliaryLoss) q = norm(g, q, decoderNorm, DETR_LN_EPS, 'decoder.layernorm');
    if (out.selfProbs) selfAttentions.push(out.selfProbs);
    if (out.crossProbs) crossAttentions.push(out.crossProbs);
  }
  const sequence = norm(g, q, decoderNorm, DETR_LN_EPS, 'decoder.layernorm');
  decoderStates.push(sequence);

  // 6. Heads.
  const detection = spec.architecture !== 'DetrModel';
  const heads = weights.scoped(spec.headPrefix);
  const tuples: Record<string, Value[]> = {};
  if (req.outputHiddenStates) {
    tuples.decoder_hidden_states = decoderStates;
    tuples.encoder_hidden_states = encoderStates;
  }
  if (wantProbs) {
    tuples.decoder_attentions = selfAttentions;
    tuples.cross_attentions = crossAttentions;
    tuples.encoder_attentions = encoderAttentions;
  }
  return {
    outputs: {
      logits: detection
        ? linear(
            g,
            sequence,
            readLinear(heads, 'class_labels_classifier', { inFeatures: spec.dModel, bias: 'required' }),
            'class_labels_classifier',
          )
        : undefined,
      pred_boxes: detection ? boxHead(g, sequence, spec, heads) : undefined,
      pred_masks: spec.maskHead
        ? maskHeadGraph(g, { sequence, memory, projected, mask: m, stages }, spec.maskHead, weights, spec.numQueries, d, spec.activation)
        : undefined,
      last_hidden_state: sequence,
      encoder_last_hidden_state: memory,
    },
    tuples,
  };
}

/** `zeros_like(query_position_embeddings)` with the symbolic batch of `like` [B, L, C], without Shape ops. */
function zeroQueries(g: GraphBuilder, like: Value, queries: number, d: number): Value {
  const zero = g.constant(Tensor.fromFloat32([0], []), 'zero');
  const perImage = ops.mul(g, ops.reshape(g, ops.gather(g, like, 0, 1), [0, 1, d]), zero); // [B, 1, C]
  return ops.add(g, perImage, g.constant(Tensor.zeros('float32', [1, queries, d]), 'queries'));
}

/** `DetrMLPPredictionHead`: Linear+ReLU, …, Linear, then sigmoid → normalised (cx, cy, w, h). */
function boxHead(g: GraphBuilder, x: Value, spec: DetrSpec, weights: WeightStore): Value {
  let h = x;
  for (let i = 0; i < spec.bboxLayers; i++) {
    h = linear(
      g,
      h,
      readLinear(weights, `bbox_predictor.layers.${i}`, {
        inFeatures: spec.dModel,
        outFeatures: i === spec.bboxLayers - 1 ? 4 : spec.dModel,
        bias: 'required',
      }),
      `bbox_predictor.layers.${i}`,
    );
    if (i < spec.bboxLayers - 1) h = ops.relu(g, h);
  }
  return ops.sigmoid(g, h);
}
