import { type AttentionResult, attention } from '../attention/attention.js';
import { VitkitError } from '../errors/vitkit-error.js';
import { Tensor, toFloat32Array } from '../tensor/tensor.js';
import type { GraphBuilder } from './graph-builder.js';
import { add, conv2d, gelu, layerNorm, matMul, mul, reshape, sigmoid, slice, transpose } from './ops.js';
import type { Value } from './value.js';

// Reusable pieces of vision transformers, taking weights as PyTorch lays them out.

export interface LinearWeights {
  /** [out, in], as nn.Linear stores it. */
  weight: Tensor;
  bias?: Tensor;
}

export interface NormWeights {
  weight: Tensor;
  bias: Tensor;
}

/** Weights as fp32 data; checkpoints in fp16/bf16 are widened once, at build time. */
function f32(t: Tensor): Tensor<'float32'> {
  return t.dtype === 'float32' ? (t as Tensor<'float32'>) : new Tensor('float32', toFloat32Array(t), t.shape);
}

/** [out, in] → [in, out], done once at build time so the graph runs a plain MatMul. */
export function transposeWeight(w: Tensor): Tensor<'float32'> {
  const [o, i] = w.shape;
  const src = toFloat32Array(w);
  const out = new Float32Array(o * i);
  for (let r = 0; r < o; r++) for (let c = 0; c < i; c++) out[c * o + r] = src[r * i + c];
  return new Tensor('float32', out, [i, o]);
}

export function linear(g: GraphBuilder, x: Value, w: LinearWeights, name = 'linear'): Value {
  if (w.weight.shape.length !== 2)
    throw new VitkitError('WEIGHTS_SHAPE_MISMATCH', `${name}: weight must be 2-D, got [${w.weight.shape.join(', ')}].`);
  const y = matMul(g, x, g.constant(transposeWeight(w.weight), `${name}.weight`));
  return w.bias ? add(g, y, g.constant(f32(w.bias), `${name}.bias`)) : y;
}

export function norm(g: GraphBuilder, x: Value, w: NormWeights, eps: number, name = 'norm'): Value {
  return layerNorm(g, x, g.constant(f32(w.weight), `${name}.weight`), g.constant(f32(w.bias), `${name}.bias`), eps);
}

/** fc1 → exact GELU → fc2. */
export function mlp(g: GraphBuilder, x: Value, fc1: LinearWeights, fc2: LinearWeights): Value {
  return linear(g, gelu(g, linear(g, x, fc1, 'fc1')), fc2, 'fc2');
}

/** DINOv2's SwiGLU: weights_in gives [x1, x2]; silu(x1) * x2 → weights_out. */
export function swiGlu(g: GraphBuilder, x: Value, weightsIn: LinearWeights, weightsOut: LinearWeights): Value {
  const h = linear(g, x, weightsIn, 'weights_in');
  const hidden = (h.shape[h.shape.length - 1] as number) / 2;
  const x1 = slice(g, h, [0], [hidden], [-1]);
  const x2 = slice(g, h, [hidden], [2 * hidden], [-1]);
  const silu = mul(g, x1, sigmoid(g, x1));
  return linear(g, mul(g, silu, x2), weightsOut, 'weights_out');
}

/** Conv with kernel = stride = patch, then flatten to tokens: [B, 3, H, W] → [B, h*w, C]. */
export function patchEmbedding(g: GraphBuilder, pixels: Value, proj: LinearWeights & { weight: Tensor }, patch: [number, number]): Value {
  const w = g.constant(f32(proj.weight), 'patch_embed.weight');
  const b = proj.bias ? g.constant(f32(proj.bias), 'patch_embed.bias') : undefined;
  const maps = conv2d(g, pixels, w, b, { strides: patch });
  const [, c] = maps.shape;
  return transpose(g, reshape(g, maps, [0, c as number, -1]), [0, 2, 1]);
}

export interface EncoderBlockWeights {
  norm1: NormWeights;
  query: LinearWeights;
  key: LinearWeights;
  value: LinearWeights;
  attnOut: LinearWeights;
  norm2: NormWeights;
  ffn: { kind: 'mlp'; fc1: LinearWeights; fc2: LinearWeights } | { kind: 'swiglu'; weightsIn: LinearWeights; weightsOut: LinearWeights };
  /** Per-channel layer-scale gammas (DINOv2, CaiT); absent means 1. */
  layerScale1?: Tensor;
  layerScale2?: Tensor;
}

export interface EncoderBlockOptions {
  numHeads: number;
  eps: number;
  wantProbs?: boolean;
  attentionBias?: Value;
  keyPaddingMask?: Value;
}

/** Pre-norm transformer block: x + γ1·Attn(LN(x)); x + γ2·FFN(LN(x)). */
export function encoderBlock(g: GraphBuilder, x: Value, w: EncoderBlockWeights, o: EncoderBlockOptions): { hidden: Value; probs?: Value } {
  const h = norm(g, x, w.norm1, o.eps, 'norm1');
  const attn: AttentionResult = attention(g, {
    q: linear(g, h, w.query, 'query'),
    k: linear(g, h, w.key, 'key'),
    v: linear(g, h, w.value, 'value'),
    numHeads: o.numHeads,
    bias: o.attentionBias,
    keyPaddingMask: o.keyPaddingMask,
    wantProbs: o.wantProbs,
  });
  let a = linear(g, attn.output, w.attnOut, 'attn_out');
  if (w.layerScale1) a = mul(g, a, g.constant(f32(w.layerScale1), 'layer_scale1'));
  const x1 = add(g, x, a);
  const h2 = norm(g, x1, w.norm2, o.eps, 'norm2');
  let f = w.ffn.kind === 'mlp' ? mlp(g, h2, w.ffn.fc1, w.ffn.fc2) : swiGlu(g, h2, w.ffn.weightsIn, w.ffn.weightsOut);
  if (w.layerScale2) f = mul(g, f, g.constant(f32(w.layerScale2), 'layer_scale2'));
  return { hidden: add(g, x1, f), probs: attn.probs };
}

export { f32 as weightAsFloat32 };
