import { type GraphBuilder, ops, Tensor, toFloat32Array, type Value, VitkitError, type WeightStore } from '@vitkit/core/internal';
import type { BackboneSpec, ConvBnSpec, ResidualBlockSpec } from './backbone-spec.js';

/** `DetrFrozenBatchNorm2d`'s epsilon (fixed in transformers, whatever the original BatchNorm2d had). */
export const FROZEN_BN_EPS = 1e-5;

export interface FrozenBatchNorm {
  weight: Float32Array;
  bias: Float32Array;
  runningMean: Float32Array;
  runningVar: Float32Array;
}

export function readFrozenBatchNorm(w: WeightStore, prefix: string, channels: number): FrozenBatchNorm {
  const get = (name: string) => toFloat32Array(w.get(`${prefix}.${name}`, [channels]));
  return { weight: get('weight'), bias: get('bias'), runningMean: get('running_mean'), runningVar: get('running_var') };
}

/**
 * `DetrFrozenBatchNorm2d` as an affine map: `scale = weight * rsqrt(running_var + eps)`,
 * `shift = bias - running_mean * scale`, so that `bn(x) = x * scale + shift`.
 */
export function frozenBatchNormAffine(bn: FrozenBatchNorm): { scale: Float32Array; shift: Float32Array } {
  const n = bn.weight.length;
  const scale = new Float32Array(n);
  const shift = new Float32Array(n);
  for (let c = 0; c < n; c++) {
    scale[c] = bn.weight[c] / Math.sqrt(bn.runningVar[c] + FROZEN_BN_EPS);
    shift[c] = bn.bias[c] - bn.runningMean[c] * scale[c];
  }
  return { scale, shift };
}

/**
 * Folds a frozen batch norm into the bias-free convolution before it:
 * `bn(conv(x, W)) = conv(x, W * scale[o]) + shift[o]`, one Conv node instead of Conv + Mul + Add.
 */
export function foldBatchNormIntoConv(convWeight: Tensor, bn: FrozenBatchNorm): { weight: Tensor<'float32'>; bias: Tensor<'float32'> } {
  const { scale, shift } = frozenBatchNormAffine(bn);
  const src = toFloat32Array(convWeight);
  const out = new Float32Array(src.length);
  const perOut = src.length / scale.length;
  for (let o = 0; o < scale.length; o++) {
    for (let i = 0; i < perOut; i++) out[o * perOut + i] = src[o * perOut + i] * scale[o];
  }
  return { weight: new Tensor('float32', out, convWeight.shape), bias: new Tensor('float32', shift, [shift.length]) };
}

export interface BackboneOptions {
  /** Fold every frozen batch norm into its convolution (default). `false` keeps Conv → Mul → Add, for tests. */
  foldBatchNorm: boolean;
}

/**
 * ResNet, stem → stages of residual blocks; returns every stage's feature map [B, C_s, h_s, w_s]
 * (the last one feeds the transformer, the earlier ones DETR's segmentation FPN).
 */
export function resnetBackbone(g: GraphBuilder, pixels: Value, spec: BackboneSpec, w: WeightStore, o: BackboneOptions): Value[] {
  let x = g.scope('stem', () => ops.relu(g, convBn(g, pixels, spec.stem, w, o)));
  if (spec.stemPool) x = ops.maxPool2d(g, x, { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });
  const stages: Value[] = [];
  for (const stage of spec.stages) {
    for (const block of stage) x = g.scope(block.name, () => residualBlock(g, x, block, w, o));
    stages.push(x);
  }
  return stages;
}

function residualBlock(g: GraphBuilder, x: Value, block: ResidualBlockSpec, w: WeightStore, o: BackboneOptions): Value {
  let h = x;
  block.convs.forEach((c, i) => {
    h = convBn(g, h, c, w, o);
    if (i < block.convs.length - 1) h = ops.relu(g, h);
  });
  const residual = block.shortcut ? g.scope('shortcut', () => convBn(g, x, block.shortcut as ConvBnSpec, w, o)) : x;
  return ops.relu(g, ops.add(g, h, residual));
}

/** Conv (no bias) followed by a frozen batch norm: folded into one Conv, or spelled out as HF computes it. */
export function convBn(g: GraphBuilder, x: Value, c: ConvBnSpec, w: WeightStore, o: BackboneOptions): Value {
  const weight = w.get(c.conv);
  const [cout, cinPerGroup] = weight.shape;
  const cin = x.shape[1] as number;
  if (cin % cinPerGroup !== 0) {
    throw new VitkitError('WEIGHTS_SHAPE_MISMATCH', `${w.source}: "${c.conv}" expects ${cinPerGroup}·k input channels but gets ${cin}.`);
  }
  const bn = readFrozenBatchNorm(w, c.bn, cout);
  const conv = {
    strides: [c.stride, c.stride] as [number, number],
    pads: [c.padding, c.padding, c.padding, c.padding] as [number, number, number, number],
    dilations: [c.dilation, c.dilation] as [number, number],
    group: cin / cinPerGroup,
  };
  if (o.foldBatchNorm) {
    const folded = foldBatchNormIntoConv(weight, bn);
    return ops.conv2d(g, x, g.constant(folded.weight, c.conv), g.constant(folded.bias, `${c.bn}.folded_bias`), conv);
  }
  const y = ops.conv2d(g, x, g.constant(weight.toFloat32(), c.conv), undefined, conv);
  const { scale, shift } = frozenBatchNormAffine(bn);
  const scaled = ops.mul(g, y, g.constant(new Tensor('float32', scale, [1, cout, 1, 1]), `${c.bn}.scale`));
  return ops.add(g, scaled, g.constant(new Tensor('float32', shift, [1, cout, 1, 1]), `${c.bn}.shift`));
}
