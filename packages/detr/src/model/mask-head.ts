import {
  type GraphBuilder,
  linear,
  ops,
  readLinear,
  readVector,
  Tensor,
  type Value,
  VitkitError,
  type WeightStore,
} from '@vitkit/core/internal';
import { nearestResizeTo, positionsAlong } from './pixel-mask.js';
import type { Activation } from './transformer.js';

/**
 * DETR's segmentation head (`DetrForSegmentation`, transformers v5.2.0), on top of the detection graph:
 *
 *   bbox_attention (`DetrMHAttentionMap`): each query's attention over the encoder memory, per head,
 *     softmax taken jointly over (heads, h, w), padded positions masked → [B·Q, heads, h, w]
 *   mask_head (`DetrMaskHeadSmallConv`): cat(input projection of the last stage, those maps) →
 *     conv3x3 + GroupNorm + act (×2) → three FPN steps (1x1 adapter of stage 3, 2, 1 + nearest
 *     upsampling, conv3x3 + GroupNorm + act) → conv3x3 to one channel: pred_masks [B, Q, h1, w1]
 *
 * Keys are the original checkpoint names (`mask_head.lay1..5`, `gn1..5`, `adapter1..3`, `out_lay`,
 * `bbox_attention.q_linear` / `k_linear`), which facebook/detr-resnet-50-panoptic and
 * transformers' save_pretrained both write.
 */

/** nn.GroupNorm's default epsilon. */
export const GROUP_NORM_EPS = 1e-5;

/** `float32` most negative value: what transformers adds to padded positions' attention logits. */
const FLOAT32_MIN = -3.4028234663852886e38;

export interface MaskHeadSpec {
  /** `bbox_attention`'s heads (= `encoder_attention_heads`). */
  heads: number;
  /** Output channels of lay1..lay5 (d_model + heads, d_model / 2, / 4, / 8, / 16). */
  widths: readonly number[];
  /** Input channels of adapter1..3: backbone stages 3, 2, 1. */
  fpnChannels: readonly number[];
}

const MASK_CONVS = 5;
const ADAPTERS = 3;

/** Reads the head's widths from the weights, checking they chain (a misshapen tensor fails here, named). */
export function readMaskHeadSpec(w: WeightStore, dModel: number, heads: number): MaskHeadSpec {
  if (dModel % heads !== 0) {
    throw new VitkitError(
      'CONFIG_INVALID',
      `d_model ${dModel} is not divisible by encoder_attention_heads ${heads} (bbox_attention splits it per head).`,
    );
  }
  const widths: number[] = [];
  let cin = dModel + heads;
  for (let i = 1; i <= MASK_CONVS; i++) {
    const shape = w.shapeOf(`mask_head.lay${i}.weight`);
    if (shape.length !== 4 || shape[1] !== cin || shape[2] !== 3 || shape[3] !== 3) {
      throw shapeMismatch(w, `mask_head.lay${i}.weight`, shape, `[out, ${cin}, 3, 3]`);
    }
    widths.push(shape[0]);
    cin = shape[0];
  }
  const out = w.shapeOf('mask_head.out_lay.weight');
  if (out.length !== 4 || out[0] !== 1 || out[1] !== cin) throw shapeMismatch(w, 'mask_head.out_lay.weight', out, `[1, ${cin}, 3, 3]`);
  const fpnChannels: number[] = [];
  for (let i = 1; i <= ADAPTERS; i++) {
    const shape = w.shapeOf(`mask_head.adapter${i}.weight`);
    if (shape.length !== 4 || shape[0] !== widths[i] || shape[2] !== 1 || shape[3] !== 1) {
      throw shapeMismatch(w, `mask_head.adapter${i}.weight`, shape, `[${widths[i]}, in, 1, 1]`);
    }
    fpnChannels.push(shape[1]);
  }
  return { heads, widths, fpnChannels };
}

function shapeMismatch(w: WeightStore, key: string, shape: readonly number[], expected: string): VitkitError {
  return new VitkitError(
    'WEIGHTS_SHAPE_MISMATCH',
    `${w.source}: tensor "${w.fullKey(key)}" has shape [${shape.join(', ')}] but needs ${expected}.`,
  );
}

export interface MaskHeadInputs {
  /** Decoder output after its layer norm, [B, Q, d]. */
  sequence: Value;
  /** Encoder output, [B, h·w, d] (tokens row-major over the last stage's grid). */
  memory: Value;
  /** Input projection of the last stage, [B, d, h, w]. */
  projected: Value;
  /** The last stage's mask, [B, h, w] float 0/1 (1 = real pixel). */
  mask: Value;
  /** Backbone stage outputs, stage 1 first; the last three before the final one feed the FPN. */
  stages: readonly Value[];
}

/**
 * `pred_masks` [B, Q, h1, w1] (raw logits at stage 1's resolution). Per-image tensors meet the
 * [B·Q, …] per-query ones by broadcasting in [B, Q, …] (Reshape with 0 / -1 only), and resampling
 * uses int32 indices counted from the tensors: no Shape op, so the graph runs entirely on WebGPU
 * and serves every input size.
 */
export function maskHeadGraph(
  g: GraphBuilder,
  x: MaskHeadInputs,
  spec: MaskHeadSpec,
  w: WeightStore,
  numQueries: number,
  dModel: number,
  activation: Activation,
): Value {
  if (x.stages.length < 4) {
    throw new VitkitError(
      'MODEL_TYPE_UNSUPPORTED',
      `DetrForSegmentation needs four backbone stages (its FPN reads stages 1–3), the backbone has ${x.stages.length}.`,
    );
  }
  /** [B·Q, …] per query + [B, …] per image, broadcast over the queries in [B, Q, …] (no per-query copy of the image's tensor). */
  const addPerImage = (perQuery: Value, perImage: Value) => {
    const split = ops.reshape(g, ops.unsqueeze(g, perQuery, [1]), [-1, numQueries, 0, 0, 0]);
    const sum = ops.add(g, split, ops.unsqueeze(g, perImage, [1]));
    return ops.squeeze(g, ops.reshape(g, sum, [-1, 1, 0, 0, 0]), [1]);
  };
  const act = (v: Value) => (activation === 'relu' ? ops.relu(g, v) : ops.gelu(g, v));
  const normAct = (v: Value, i: number) => act(groupNorm(g, v, w, `mask_head.gn${i}`, spec.widths[i - 1]));
  const block = (v: Value, i: number) => g.scope(`mask_head.lay${i}`, () => normAct(conv(g, v, w, `mask_head.lay${i}`, 1), i));

  const maps = g.scope('bbox_attention', () => attentionMaps(g, x, spec.heads, w, numQueries, dModel));
  // lay1 over cat(projection repeated per query, maps) is a conv of the projection, once per image,
  // plus a conv of the maps: the same sum, with 1/Q of the projection's FLOPs (a quarter of the head's).
  let h = g.scope('mask_head.lay1', () => {
    const [projectionPart, mapsPart] = splitInputChannels(w.get('mask_head.lay1.weight').toFloat32(), dModel);
    const bias = readVector(w, 'mask_head.lay1.bias', spec.widths[0]).toFloat32();
    const pads: [number, number, number, number] = [1, 1, 1, 1];
    const fromProjection = ops.conv2d(
      g,
      x.projected,
      g.constant(projectionPart, 'mask_head.lay1.weight'),
      g.constant(bias, 'mask_head.lay1.bias'),
      { pads },
    );
    // A zero bias rather than none: onnxruntime-node's WebGPU Conv crashed the process on this bias-free one.
    const zeroBias = g.constant(Tensor.zeros('float32', [spec.widths[0]]), 'mask_head.lay1.zero_bias');
    const fromMaps = ops.conv2d(g, maps, g.constant(mapsPart, 'mask_head.lay1.weight'), zeroBias, { pads });
    return normAct(addPerImage(fromMaps, fromProjection), 1);
  });
  h = block(h, 2);
  for (let i = 1; i <= ADAPTERS; i++) {
    const feature = x.stages[x.stages.length - 1 - i];
    // adapter(feature) [B, c, H, W] + x upsampled to it [B·Q, c, H, W].
    h = g.scope(`mask_head.adapter${i}`, () => {
      const adapted = conv(g, feature, w, `mask_head.adapter${i}`, 0);
      return addPerImage(nearestResizeTo(g, h, adapted), adapted);
    });
    h = block(h, i + 2);
  }
  const out = conv(g, h, w, 'mask_head.out_lay', 1); // [B·Q, 1, h1, w1]
  return ops.reshape(g, out, [-1, numQueries, 0, 0]);
}

/**
 * `DetrMHAttentionMap`: q = q_linear(sequence) · head_dim^-½, k = k_linear over the memory (the
 * reference's 1x1 conv with the same weights), logits per head, float32-min added where the key is
 * padding, softmax over (heads, h, w) together; → [B·Q, heads, h, w].
 */
function attentionMaps(g: GraphBuilder, x: MaskHeadInputs, heads: number, w: WeightStore, numQueries: number, d: number): Value {
  const headDim = d / heads;
  const q = linear(
    g,
    x.sequence,
    readLinear(w, 'bbox_attention.q_linear', { inFeatures: d, outFeatures: d, bias: 'required' }),
    'q_linear',
  );
  const k = linear(g, x.memory, readLinear(w, 'bbox_attention.k_linear', { inFeatures: d, outFeatures: d, bias: 'required' }), 'k_linear');
  const scale = g.constant(Tensor.fromFloat32([headDim ** -0.5], []), 'normalize_fact');
  const qh = ops.transpose(g, ops.reshape(g, ops.mul(g, q, scale), [0, numQueries, heads, headDim]), [0, 2, 1, 3]); // [B, n, Q, c]
  const kh = ops.transpose(g, ops.reshape(g, k, [0, -1, heads, headDim]), [0, 2, 3, 1]); // [B, n, c, hw]
  let logits = ops.matMul(g, qh, kh); // [B, n, Q, hw]
  const padding = ops.sub(g, g.constant(Tensor.fromFloat32([1], []), 'one'), ops.reshape(g, x.mask, [0, 1, 1, -1]));
  logits = ops.add(g, logits, ops.mul(g, padding, g.constant(Tensor.fromFloat32([FLOAT32_MIN], []), 'float32_min')));
  // [B, Q, n, hw] → [B·Q, n·hw]: one softmax over every head and position of a query.
  const probs = ops.softmax(g, ops.flatten(g, ops.transpose(g, logits, [0, 2, 1, 3]), 2), -1);
  const perHead = ops.reshape(g, probs, [0, heads, -1]); // [B·Q, n, hw]
  // Back onto the grid: token y·w + x of the memory is pixel (y, x) of the last stage.
  const rows = positionsAlong(g, x.projected, 2);
  const cols = positionsAlong(g, x.projected, 3);
  const grid = ops.add(g, ops.mul(g, ops.reshape(g, rows.index, [-1, 1]), cols.count), ops.reshape(g, cols.index, [1, -1]));
  return ops.gather(g, perHead, grid, 2); // [B·Q, n, h, w]
}

/** A conv weight [out, in, kh, kw] cut along its input channels at `at`: [out, at, …] and [out, in - at, …]. */
function splitInputChannels(weight: Tensor<'float32'>, at: number): [Tensor<'float32'>, Tensor<'float32'>] {
  const [out, cin, kh, kw] = weight.shape;
  const k = kh * kw;
  const first = new Float32Array(out * at * k);
  const second = new Float32Array(out * (cin - at) * k);
  for (let o = 0; o < out; o++) {
    first.set(weight.data.subarray(o * cin * k, (o * cin + at) * k), o * at * k);
    second.set(weight.data.subarray((o * cin + at) * k, (o + 1) * cin * k), o * (cin - at) * k);
  }
  return [new Tensor('float32', first, [out, at, kh, kw]), new Tensor('float32', second, [out, cin - at, kh, kw])];
}

function conv(g: GraphBuilder, x: Value, w: WeightStore, name: string, padding: number): Value {
  const weight = w.get(`${name}.weight`);
  const bias = readVector(w, `${name}.bias`, weight.shape[0]);
  return ops.conv2d(g, x, g.constant(weight.toFloat32(), `${name}.weight`), g.constant(bias.toFloat32(), `${name}.bias`), {
    pads: [padding, padding, padding, padding],
  });
}

/**
 * `nn.GroupNorm(min(8, C), C)`: [N, C, H, W] viewed as [N, G, C/G·H, W] (only 0 / -1 in the shape,
 * so no Shape op), mean and biased variance over the last two axes, then the per-channel affine.
 */
export function groupNorm(g: GraphBuilder, x: Value, w: WeightStore, name: string, channels: number): Value {
  const groups = Math.min(8, channels);
  if (channels % groups !== 0) {
    throw new VitkitError('MODEL_TYPE_UNSUPPORTED', `${name}: ${channels} channels cannot form ${groups} GroupNorm groups.`);
  }
  const gamma = readVector(w, `${name}.weight`, channels).toFloat32().reshape([1, channels, 1, 1]);
  const beta = readVector(w, `${name}.bias`, channels).toFloat32().reshape([1, channels, 1, 1]);
  const grouped = ops.reshape(g, x, [0, groups, -1, 0]);
  const centred = ops.sub(g, grouped, ops.reduceMean(g, grouped, [2, 3], true));
  const variance = ops.reduceMean(g, ops.mul(g, centred, centred), [2, 3], true);
  const eps = g.constant(Tensor.fromFloat32([GROUP_NORM_EPS], []), 'eps');
  const normalised = ops.reshape(g, ops.div(g, centred, ops.sqrt(g, ops.add(g, variance, eps))), [0, channels, -1, 0]);
  return ops.add(g, ops.mul(g, normalised, g.constant(gamma, `${name}.weight`)), g.constant(beta, `${name}.bias`));
}
