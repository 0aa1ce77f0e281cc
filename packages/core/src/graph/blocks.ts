import { type AttentionArgs, attention, type RotateQueryKey } from '../attention/attention.js';
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
  /** Per-output multiplier folded into the weight at build time (layer-scale). */
  outputScale?: Float32Array;
}

export interface NormWeights {
  weight: Tensor;
  bias: Tensor;
}

/** Weights as fp32 data; checkpoints in fp16/bf16 are widened once, at build time. */
function f32(t: Tensor): Tensor<'float32'> {
  return t.dtype === 'float32' ? (t as Tensor<'float32'>) : new Tensor('float32', toFloat32Array(t), t.shape);
}

/**
 * [out, in] → [in, out], done once at build time so the graph runs a plain MatMul; an optional
 * per-output scale (folded layer-scale) is applied in the same pass.
 */
function transposeWeight(w: Tensor, outputScale?: Float32Array): Tensor<'float32'> {
  const [o, i] = w.shape;
  const src = toFloat32Array(w);
  const out = new Float32Array(o * i);
  if (outputScale) {
    for (let r = 0; r < o; r++) {
      const s = outputScale[r];
      for (let c = 0; c < i; c++) out[c * o + r] = src[r * i + c] * s;
    }
  } else {
    for (let r = 0; r < o; r++) for (let c = 0; c < i; c++) out[c * o + r] = src[r * i + c];
  }
  return new Tensor('float32', out, [i, o]);
}

export function linear(g: GraphBuilder, x: Value, w: LinearWeights, name = 'linear'): Value {
  const y = project(g, x, w, name);
  return w.bias ? add(g, y, g.constant(f32(w.bias), `${name}.bias`)) : y;
}

/** A Linear's MatMul alone: x·Wᵀ, its bias left to the caller. */
function project(g: GraphBuilder, x: Value, w: LinearWeights, name: string): Value {
  if (w.weight.shape.length !== 2)
    throw new VitkitError('WEIGHTS_SHAPE_MISMATCH', `${name}: weight must be 2-D, got [${w.weight.shape.join(', ')}].`);
  return matMul(g, x, g.constant(transposeWeight(w.weight, w.outputScale), `${name}.weight`));
}

export interface QkvWeights {
  query: LinearWeights;
  key: LinearWeights;
  value: LinearWeights;
}

/**
 * Self-attention's inputs from x: q, k, v as three bias-free MatMuls, with the biases handed to
 * `attention()` as `qkvBias`, so the fused kernel adds them inside MultiHeadAttention (no Add nodes).
 * Three MatMuls rather than one [C, 3C]: packing needs a Split on cpu (its MHA has no packed-QKV
 * format), and measured no faster.
 */
export function projectQkv(g: GraphBuilder, x: Value, w: QkvWeights): Pick<AttentionArgs, 'q' | 'k' | 'v' | 'qkvBias'> {
  return {
    q: project(g, x, w.query, 'query'),
    k: project(g, x, w.key, 'key'),
    v: project(g, x, w.value, 'value'),
    qkvBias: { q: w.query.bias, k: w.key.bias, v: w.value.bias },
  };
}

export function norm(g: GraphBuilder, x: Value, w: NormWeights, eps: number, name = 'norm'): Value {
  return layerNorm(g, x, g.constant(f32(w.weight), `${name}.weight`), g.constant(f32(w.bias), `${name}.bias`), eps);
}

/** A feed-forward activation as config.json's `hidden_act` names it: exact (erf) GELU, or SiLU. */
export type FfnActivation = 'gelu' | 'silu';

function activate(g: GraphBuilder, x: Value, act: FfnActivation): Value {
  return act === 'gelu' ? gelu(g, x) : mul(g, x, sigmoid(g, x));
}

/** fc1 → activation (exact GELU unless told) → fc2. */
export function mlp(g: GraphBuilder, x: Value, fc1: LinearWeights, fc2: LinearWeights, act: FfnActivation = 'gelu'): Value {
  return linear(g, activate(g, linear(g, x, fc1, 'fc1'), act), fc2, 'fc2');
}

/** DINOv3's gated MLP: down(act(gate(x)) * up(x)). */
function gatedMlp(g: GraphBuilder, x: Value, gate: LinearWeights, up: LinearWeights, down: LinearWeights, act: FfnActivation): Value {
  return linear(g, mul(g, activate(g, linear(g, x, gate, 'gate_proj'), act), linear(g, x, up, 'up_proj')), down, 'down_proj');
}

/** DINOv2's SwiGLU: weights_in gives [x1, x2]; silu(x1) * x2 → weights_out. */
function swiGlu(g: GraphBuilder, x: Value, weightsIn: LinearWeights, weightsOut: LinearWeights): Value {
  const h = linear(g, x, weightsIn, 'weights_in');
  const hidden = (h.shape[h.shape.length - 1] as number) / 2;
  const x1 = slice(g, h, [0], [hidden], [-1]);
  const x2 = slice(g, h, [hidden], [2 * hidden], [-1]);
  const silu = mul(g, x1, sigmoid(g, x1));
  return linear(g, mul(g, silu, x2), weightsOut, 'weights_out');
}

/** Conv with kernel = stride = patch, then flatten to tokens: [B, 3, H, W] → [B, h*w, C]; an input smaller than one patch is refused. */
export function patchEmbedding(g: GraphBuilder, pixels: Value, proj: LinearWeights & { weight: Tensor }, patch: [number, number]): Value {
  const [, , height, width] = pixels.shape;
  if (typeof height === 'number' && typeof width === 'number' && (height < patch[0] || width < patch[1])) {
    throw new VitkitError('INPUT_SHAPE_INVALID', `Input ${height}x${width} is smaller than one ${patch[0]}x${patch[1]} patch.`);
  }
  const w = g.constant(f32(proj.weight), 'patch_embed.weight');
  const b = proj.bias ? g.constant(f32(proj.bias), 'patch_embed.bias') : undefined;
  const maps = conv2d(g, pixels, w, b, { strides: patch });
  const [, c] = maps.shape;
  return transpose(g, reshape(g, maps, [0, c as number, -1]), [0, 2, 1]);
}

export interface EncoderBlockWeights extends QkvWeights {
  norm1: NormWeights;
  attnOut: LinearWeights;
  norm2: NormWeights;
  ffn:
    | { kind: 'mlp'; fc1: LinearWeights; fc2: LinearWeights; act?: FfnActivation }
    | { kind: 'swiglu'; weightsIn: LinearWeights; weightsOut: LinearWeights }
    | { kind: 'gated'; gate: LinearWeights; up: LinearWeights; down: LinearWeights; act: FfnActivation };
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
  /** Rewrites the biased q and k before attention (DINOv3's rotary embedding); the kernel stays the graph's. */
  rotate?: RotateQueryKey;
}

/**
 * Pre-norm transformer block: x + γ1·Attn(LN(x)); x + γ2·FFN(LN(x)).
 *
 * Built for speed without changing the math beyond float rounding:
 * - layer-scale γ is folded into the preceding Linear at build time (γ·(Wh + b) = (γW)h + γb): 24 Mul
 *   nodes fewer in a ViT-S, and the residual is a plain Add(x, MatMul + bias) (which the optional
 *   SkipLayerNormalization pass in `fusion/` can fuse; onnxruntime's own fusion skips pre-norm blocks);
 * - the Q/K/V biases go to `attention()` as `qkvBias` (see `projectQkv`).
 */
export function encoderBlock(g: GraphBuilder, x: Value, w: EncoderBlockWeights, o: EncoderBlockOptions): { hidden: Value; probs?: Value } {
  const h = norm(g, x, w.norm1, o.eps, 'norm1');
  const attn = attention(g, {
    ...projectQkv(g, h, w),
    numHeads: o.numHeads,
    bias: o.attentionBias,
    keyPaddingMask: o.keyPaddingMask,
    wantProbs: o.wantProbs,
    rotate: o.rotate,
  });
  const a = linear(g, attn.output, scaleOutputs(w.attnOut, w.layerScale1), 'attn_out');
  const x1 = add(g, x, a);
  const h2 = norm(g, x1, w.norm2, o.eps, 'norm2');
  const f =
    w.ffn.kind === 'mlp'
      ? mlp(g, h2, w.ffn.fc1, scaleOutputs(w.ffn.fc2, w.layerScale2), w.ffn.act)
      : w.ffn.kind === 'gated'
        ? gatedMlp(g, h2, w.ffn.gate, w.ffn.up, scaleOutputs(w.ffn.down, w.layerScale2), w.ffn.act)
        : swiGlu(g, h2, w.ffn.weightsIn, scaleOutputs(w.ffn.weightsOut, w.layerScale2));
  return { hidden: add(g, x1, f), probs: attn.probs };
}

/** Folds a per-output-channel scale γ into a Linear: its bias now, its weight rows when transposed. */
function scaleOutputs(l: LinearWeights, gamma: Tensor | undefined): LinearWeights {
  if (!gamma) return l;
  const out = l.weight.shape[0];
  const g = toFloat32Array(gamma);
  if (g.length !== out) {
    throw new VitkitError('WEIGHTS_SHAPE_MISMATCH', `layer scale has ${g.length} channels but its Linear has ${out} outputs.`);
  }
  const bias = l.bias
    ? new Tensor(
        'float32',
        Float32Array.from(toFloat32Array(l.bias), (b, i) => b * g[i]),
        [out],
      )
    : undefined;
  return { weight: l.weight, bias, outputScale: g };
}

/** A learned [1, k, C] token (CLS, distillation, registers) expanded along the batch of `like` [B, T, C]. */
export function broadcastToken(g: GraphBuilder, token: Tensor, like: Value, name: string): Value {
  // like[:, :1] * 0 broadcast against the token keeps the batch symbolic without Shape ops.
  const zeros = mul(g, slice(g, like, [0], [1], [1]), g.constant(Tensor.fromFloat32([0], []), 'zero'));
  return add(g, zeros, g.constant(f32(token), name));
}

/**
 * `layers` pre-norm blocks in Hugging Face's `encoder.layer.<i>` scopes, keeping every hidden state
 * (the input first) and, when asked, every block's attention probabilities.
 */
export function encoderStack(
  g: GraphBuilder,
  x: Value,
  layers: number,
  layer: (i: number) => EncoderBlockWeights,
  o: EncoderBlockOptions,
): { hidden: Value; hiddenStates: Value[]; attentions: Value[] } {
  const hiddenStates: Value[] = [x];
  const attentions: Value[] = [];
  let hidden = x;
  for (let i = 0; i < layers; i++) {
    const out = g.scope(`encoder.layer.${i}`, () => encoderBlock(g, hidden, layer(i), o));
    hidden = out.hidden;
    hiddenStates.push(hidden);
    if (out.probs) attentions.push(out.probs);
  }
  return { hidden, hiddenStates, attentions };
}
