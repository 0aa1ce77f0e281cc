import {
  type GraphBuilder,
  type LinearWeights,
  linear,
  multiScaleDeformableAttention,
  norm,
  ops,
  readLinear,
  readNorm,
  readVector,
  Tensor,
  type Value,
  type WeightStore,
} from '@vitkit/core/internal';
import { maskedAttention, readAttention } from './attention.js';
import { clip, reduceMax, scalar, toBool } from './onnx-ops.js';
import { coordinateSineEmbedding } from './sine-embedding.js';
import type { GroundingDinoSpec } from './spec.js';
import type { TextFeatures } from './text-encoder.js';
import type { VisionFeatures } from './vision.js';

/** BiMultiHeadAttention keeps its logits within ±50000 (for fp16, in the reference). */
const FUSION_CLAMP = 50000;

/**
 * The feature enhancer (GroundingDinoEncoder): per layer, image↔text fusion, then text
 * self-attention (the text enhancer), then deformable self-attention over the image levels.
 */
export function featureEnhancer(
  g: GraphBuilder,
  vision: VisionFeatures,
  text: TextFeatures,
  spec: GroundingDinoSpec,
  weights: WeightStore,
): { vision: Value; text: Value; visionStates: Value[]; textStates: Value[] } {
  const referencePoints = g.scope('encoder.reference_points', () => encoderReferencePoints(g, vision));
  const textPosition = coordinateSineEmbedding(g, ops.unsqueeze(g, text.positionIds, [2]), spec.dModel, false);
  let v = vision.source;
  let t = text.features;
  const visionStates = [v];
  const textStates = [t];
  for (let i = 0; i < spec.encoderLayers; i++) {
    const w = weights.scoped(`model.encoder.layers.${i}.`);
    g.scope(`encoder.layers.${i}`, () => {
      const fused = g.scope('fusion_layer', () => fusionLayer(g, v, t, vision.mask, text.tokenMask, spec, w.scoped('fusion_layer.')));
      v = fused.vision;
      t = g.scope('text_enhancer_layer', () =>
        textEnhancerLayer(g, fused.text, textPosition, text.selfAttentionBias, spec, w.scoped('text_enhancer_layer.')),
      );
      v = g.scope('deformable_layer', () => deformableLayer(g, v, vision, referencePoints, spec, w.scoped('deformable_layer.')));
    });
    visionStates.push(v);
    textStates.push(t);
  }
  return { vision: v, text: t, visionStates, textStates };
}

/**
 * GroundingDinoEncoder.get_reference_points: each token's cell centre over its level's valid size,
 * ((j + 0.5) / (ratio_w·w), (i + 0.5) / (ratio_h·h)), then times every level's valid ratios:
 * [B, S, levels, 2].
 */
function encoderReferencePoints(g: GraphBuilder, vision: VisionFeatures): Value {
  const S = vision.levelShapes.reduce((n, [h, w]) => n + h * w, 0);
  const centres = new Float32Array(S * 2);
  const sizes = new Float32Array(S * 2);
  const levelOf: number[] = [];
  let s = 0;
  vision.levelShapes.forEach(([h, w], level) => {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++, s++) {
        centres.set([j + 0.5, i + 0.5], s * 2);
        sizes.set([w, h], s * 2);
        levelOf.push(level);
      }
    }
  });
  const ratios = ops.gather(g, vision.validRatios, levelOf, 1); // [B, S, 2]
  const denominators = ops.mul(g, ratios, g.constant(new Tensor('float32', sizes, [S, 2]), 'level_sizes'));
  const points = ops.div(g, g.constant(new Tensor('float32', centres, [S, 2]), 'cell_centres'), denominators);
  return ops.mul(g, ops.unsqueeze(g, points, [2]), ops.unsqueeze(g, vision.validRatios, [1]));
}

/**
 * GroundingDinoFusionLayer: both sides layer-normed, BiMultiHeadAttention between them, each side's
 * update scaled by its layer-scale γ and added to its normed features.
 */
function fusionLayer(
  g: GraphBuilder,
  vision: Value,
  text: Value,
  visionMask: Value,
  textMask: Value,
  spec: GroundingDinoSpec,
  w: WeightStore,
): { vision: Value; text: Value } {
  const d = spec.dModel;
  const v = norm(g, vision, readNorm(w, 'layer_norm_vision', d), spec.eps, 'layer_norm_vision');
  const t = norm(g, text, readNorm(w, 'layer_norm_text', d), spec.eps, 'layer_norm_text');
  const { vision: dv, text: dt } = g.scope('attn', () => biAttention(g, v, t, visionMask, textMask, spec, w.scoped('attn.')));
  const gamma = (name: string) => g.constant(readVector(w, name, d).toFloat32(), name);
  return { vision: ops.add(g, v, ops.mul(g, gamma('vision_param'), dv)), text: ops.add(g, t, ops.mul(g, gamma('text_param'), dt)) };
}

/**
 * GroundingDinoBiMultiHeadAttention: one score matrix image×text, read both ways. The scores are
 * shifted by their maximum over the whole batch and clamped; the text side is shifted again per
 * row and clamped; padded pixels (for text) and padded tokens (for the image) are masked with -inf.
 */
function biAttention(
  g: GraphBuilder,
  vision: Value,
  text: Value,
  visionMask: Value,
  textMask: Value,
  spec: GroundingDinoSpec,
  w: WeightStore,
): { vision: Value; text: Value } {
  const d = spec.dModel;
  const embed = spec.encoderFfn / 2;
  const heads = spec.encoderHeads / 2;
  const hd = embed / heads;
  const lin = (name: string, out: number, inp: number): LinearWeights =>
    readLinear(w, name, { inFeatures: inp, outFeatures: out, bias: 'required' });
  const split = (x: Value, perm: number[]) => ops.transpose(g, ops.reshape(g, x, [0, 0, heads, hd]), perm);
  const merge = (x: Value) => ops.reshape(g, ops.transpose(g, x, [0, 2, 1, 3]), [0, 0, embed]);
  const query = split(
    ops.mul(g, linear(g, vision, lin('vision_proj', embed, d), 'vision_proj'), scalar(g, hd ** -0.5, 'scale')),
    [0, 2, 1, 3],
  );
  const key = split(linear(g, text, lin('text_proj', embed, d), 'text_proj'), [0, 2, 3, 1]); // [B, h, hd, Nt]
  const visionValues = split(linear(g, vision, lin('values_vision_proj', embed, d), 'values_vision_proj'), [0, 2, 1, 3]);
  const textValues = split(linear(g, text, lin('values_text_proj', embed, d), 'values_text_proj'), [0, 2, 1, 3]);

  let scores = ops.matMul(g, query, key); // [B, h, Nv, Nt]
  scores = clip(g, ops.sub(g, scores, reduceMax(g, scores, undefined, true)), -FUSION_CLAMP, FUSION_CLAMP);
  const transposed = ops.transpose(g, scores, [0, 1, 3, 2]); // [B, h, Nt, Nv]
  const textScores = clip(g, ops.sub(g, transposed, reduceMax(g, transposed, [-1], true)), -FUSION_CLAMP, FUSION_CLAMP);
  const minusInf = scalar(g, Number.NEGATIVE_INFINITY, 'minus_inf');
  const keep = (mask: Value) => ops.reshape(g, toBool(g, mask), [0, 1, 1, -1]);
  const textProbs = ops.softmax(g, ops.where(g, keep(visionMask), textScores, minusInf), -1);
  const visionProbs = ops.softmax(g, ops.where(g, keep(textMask), scores, minusInf), -1);

  const visionOut = linear(g, merge(ops.matMul(g, visionProbs, textValues)), lin('out_vision_proj', d, embed), 'out_vision_proj');
  const textOut = linear(g, merge(ops.matMul(g, textProbs, visionValues)), lin('out_text_proj', d, embed), 'out_text_proj');
  return { vision: visionOut, text: textOut };
}

/** GroundingDinoTextEnhancerLayer: post-norm self-attention (queries and keys + the text sine embedding) over the phrase mask, then a relu FFN. */
function textEnhancerLayer(g: GraphBuilder, text: Value, position: Value, bias: Value, spec: GroundingDinoSpec, w: WeightStore): Value {
  const d = spec.dModel;
  const qk = ops.add(g, text, position);
  const attn = maskedAttention(g, qk, qk, text, readAttention(w, 'self_attn.', d, 'self_attn.out_proj'), spec.encoderHeads / 2, bias);
  const h = norm(g, ops.add(g, text, attn), readNorm(w, 'layer_norm_before', d), spec.eps, 'layer_norm_before');
  const f = feedForward(g, h, w, d, spec.encoderFfn / 2);
  return norm(g, ops.add(g, h, f), readNorm(w, 'layer_norm_after', d), spec.eps, 'layer_norm_after');
}

/** GroundingDinoDeformableLayer: post-norm deformable self-attention over the levels, then a relu FFN. */
function deformableLayer(
  g: GraphBuilder,
  x: Value,
  vision: VisionFeatures,
  referencePoints: Value,
  spec: GroundingDinoSpec,
  w: WeightStore,
): Value {
  const d = spec.dModel;
  const attn = multiScaleDeformableAttention(g, w.scoped('self_attn.'), {
    query: ops.add(g, x, vision.position),
    value: x,
    valueMask: vision.mask,
    referencePoints,
    levelShapes: vision.levelShapes,
    numHeads: spec.encoderHeads,
    numPoints: spec.encoderPoints,
  });
  const h = norm(g, ops.add(g, x, attn), readNorm(w, 'self_attn_layer_norm', d), spec.eps, 'self_attn_layer_norm');
  return norm(g, ops.add(g, h, feedForward(g, h, w, d, spec.encoderFfn)), readNorm(w, 'final_layer_norm', d), spec.eps, 'final_layer_norm');
}

/** fc1 → relu → fc2 (config.activation_function is relu). */
export function feedForward(g: GraphBuilder, x: Value, w: WeightStore, d: number, inner: number): Value {
  const fc1 = readLinear(w, 'fc1', { inFeatures: d, outFeatures: inner, bias: 'required' });
  const fc2 = readLinear(w, 'fc2', { inFeatures: inner, outFeatures: d, bias: 'required' });
  return linear(g, ops.relu(g, linear(g, x, fc1, 'fc1')), fc2, 'fc2');
}
