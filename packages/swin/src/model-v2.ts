import {
  attention,
  ConfigReader,
  type GraphBuilder,
  type GraphOutputs,
  type GraphRequest,
  type LinearWeights,
  linear,
  mlp,
  type NormWeights,
  norm,
  ops,
  projectQkv,
  type RawConfig,
  type RotateQueryKey,
  readLinear,
  readNorm,
  Tensor,
  type Value,
  VitkitError,
  type WeightStore,
} from '@vitkit/core/internal';
import { continuousPositionBias } from './continuous-position-bias.js';
import { embeddings, type Grid, inWindows, neighboursConcatenated, type SwinSpec, swinOutputs, TORCH_LN_EPS } from './model.js';
import { paddedWindows, SHIFT_MASK_VALUE, type WindowLayout, windowAttentionBias } from './windows.js';

/**
 * Swin Transformer V2 as Hugging Face implements it (transformers 5.2): Swinv2Model and
 * Swinv2ForImageClassification. The stages, windows, padding, shifts and patch merging are Swin's
 * (model.ts); the block is V2's (Liu et al. 2022, Fig. 1):
 *
 *   x + LN(WindowAttention(x));  then x + LN(MLP(x))          (res-post-norm)
 *   WindowAttention: cos(q, k) · τ_head + 16·sigmoid(CPB-MLP(log Δ))   (scaled cosine attention)
 *   patch merging: concat 2×2 → Linear(4C → 2C) → LN(2C)             (norm after the reduction)
 *
 * The continuous position bias depends only on the window, so it is evaluated while the graph is
 * built and reaches `attention()` as a constant `bias`, like V1's table. The cosine is taken by
 * normalising q and k per head in the `rotate` hook (τ folded into q), so the fused kernel runs it
 * with scale 1.
 */

/** Window and shift of one stage's blocks. */
export interface Swinv2StageWindows {
  /** config.window_size, or the stage's grid height at config.image_size when that is smaller. */
  window: number;
  /** The shift of odd blocks: window_size // 2, or 0 when the stage's grid at image_size fits one window. */
  shift: number;
  /** config.pretrained_window_sizes[stage] (0: none), which normalises the position-bias coordinates. */
  pretrainedWindow: number;
}

export interface Swinv2Spec extends SwinSpec {
  stages: Swinv2StageWindows[];
}

/**
 * transformers fixes each stage's window and shift when the model is created, from the grid at
 * config.image_size (its height), not from the input: a stage whose grid there is no larger than
 * the window keeps no shift and a window of that height, whatever size is run later. Any input
 * size then works: grids are padded to whole windows.
 */
export function readSwinv2Spec(raw: RawConfig, spec: SwinSpec): Swinv2Spec {
  const c = new ConfigReader(raw);
  const [imageH] = c.pair('image_size');
  const pretrained = c.optional<unknown>('pretrained_window_sizes') ?? [];
  if (!Array.isArray(pretrained) || pretrained.some((p) => !Number.isInteger(p) || p < 0 || p === 1)) {
    throw new VitkitError(
      'CONFIG_INVALID',
      `config.json: pretrained_window_sizes ${JSON.stringify(pretrained)} must list window sides (0 for none, else at least 2).`,
    );
  }
  const grid = Math.floor(imageH / spec.patch[0]);
  const stages = spec.depths.map((_, s) => {
    const resolution = Math.floor(grid / 2 ** s);
    const window = Math.min(resolution, spec.window);
    if (window < 1) {
      throw new VitkitError(
        'CONFIG_INVALID',
        `config.json: image_size ${imageH} with patch_size ${spec.patch[0]} leaves stage ${s} no tokens; it needs at least ${spec.patch[0] * 2 ** s} pixels.`,
      );
    }
    return { window, shift: resolution <= window ? 0 : Math.floor(spec.window / 2), pretrainedWindow: (pretrained[s] as number) ?? 0 };
  });
  return { ...spec, stages };
}

export function buildSwinv2Graph(
  g: GraphBuilder,
  { pixel_values: pixels }: Readonly<Record<string, Value>>,
  spec: Swinv2Spec,
  weights: WeightStore,
  req: GraphRequest,
): GraphOutputs {
  const w = weights.scoped(spec.prefix);
  let grid = g.scope('embeddings', () => embeddings(g, spec, w, pixels));
  const hidden: Grid[] = [grid];
  const attentions: Value[] = [];
  spec.depths.forEach((depth, s) => {
    const dim = spec.embedDim * 2 ** s;
    const { window, shift, pretrainedWindow } = spec.stages[s];
    for (let b = 0; b < depth; b++) {
      const key = `encoder.layers.${s}.blocks.${b}`;
      const out = g.scope(key, () =>
        swinv2Block(g, grid, readSwinv2Block(w, `${key}.`, dim, spec.heads[s], spec.mlpRatio), {
          heads: spec.heads[s],
          window,
          shift: b % 2 === 1 ? shift : 0,
          pretrainedWindow,
          eps: spec.eps,
          wantProbs: req.outputAttentions && b === depth - 1, // transformers returns each stage's last block
        }),
      );
      grid = { ...grid, x: out.x };
      if (out.probs) attentions.push(out.probs);
    }
    if (s < spec.depths.length - 1) {
      const prefix = `encoder.layers.${s}.downsample.`;
      grid = g.scope(`encoder.layers.${s}.downsample`, () => patchMergingV2(g, grid, w, prefix, dim));
    }
    hidden.push(grid);
  });
  return swinOutputs(g, spec, weights, hidden, attentions, req);
}

export interface Swinv2BlockWeights {
  query: LinearWeights;
  /** V2's key projection has no bias. */
  key: LinearWeights;
  value: LinearWeights;
  /** [heads, 1, 1]: log of each head's temperature τ. */
  logitScale: Tensor;
  /** continuous_position_bias_mlp.0 (Linear(2 → 512)) and .2 (Linear(512 → heads, no bias)). */
  positionMlp: { fc1: LinearWeights; fc2: LinearWeights };
  attnOut: LinearWeights;
  layernormBefore: NormWeights;
  layernormAfter: NormWeights;
  fc1: LinearWeights;
  fc2: LinearWeights;
}

export interface Swinv2BlockOptions {
  heads: number;
  window: number;
  shift: number;
  pretrainedWindow: number;
  eps: number;
  wantProbs?: boolean;
}

/** One res-post-norm block (transformers' Swinv2Layer): x + LN(attention(x)), then x + LN(MLP(x)). */
export function swinv2Block(
  g: GraphBuilder,
  grid: Grid,
  w: Swinv2BlockWeights,
  o: Swinv2BlockOptions,
): { x: Value; probs?: Value; layout: WindowLayout } {
  const attn = cosineWindowAttention(g, grid, w, o);
  const x1 = ops.add(g, grid.x, norm(g, attn.output, w.layernormBefore, o.eps, 'layernorm_before'));
  const f = mlp(g, x1, w.fc1, w.fc2);
  return { x: ops.add(g, x1, norm(g, f, w.layernormAfter, o.eps, 'layernorm_after')), probs: attn.probs, layout: attn.layout };
}

/** τ is clamped at 100 (log τ ≤ log(1/0.01)) before it is exponentiated. */
const MAX_LOG_SCALE = Math.log(1 / 0.01);

/**
 * transformers adds the shift mask to the scores twice (Swinv2SelfAttention.forward), so regions
 * split by the shift are kept apart by -200, not -100.
 */
const V2_SHIFT_MASK = 2 * SHIFT_MASK_VALUE;

/** Scaled cosine attention in (shifted) windows, on the un-normalised grid (V2 normalises after attention). */
export function cosineWindowAttention(
  g: GraphBuilder,
  grid: Grid,
  w: Pick<Swinv2BlockWeights, 'query' | 'key' | 'value' | 'logitScale' | 'positionMlp' | 'attnOut'>,
  o: Omit<Swinv2BlockOptions, 'eps'>,
): { output: Value; probs?: Value; layout: WindowLayout } {
  const layout = paddedWindows(grid.height, grid.width, o.window, o.shift);
  const table = continuousPositionBias(w.positionMlp, o.window, o.pretrainedWindow);
  const bias = g.constant(windowAttentionBias(table, o.heads, layout, V2_SHIFT_MASK), layout.shift ? 'shifted_window_bias' : 'window_bias');
  const temperature = Float32Array.from(w.logitScale.toFloat32().data, (s) => Math.exp(Math.min(s, MAX_LOG_SCALE)));
  return inWindows(g, grid, layout, (windows) => {
    const attn = attention(g, {
      ...projectQkv(g, windows, w),
      numHeads: o.heads,
      scale: 1,
      rotate: cosineQueryKey(o.heads, temperature),
      bias,
      wantProbs: o.wantProbs,
    });
    return { output: linear(g, attn.output, w.attnOut, 'attention.output.dense'), probs: attn.probs };
  });
}

/**
 * The floor on the norm, which keeps zero vectors (padding tokens' keys: V2's key has no bias) at
 * zero. F.normalize uses 1e-12, which an fp16 graph would round to 0 (0/0 for those keys); fp16's
 * smallest normal number gives the same result for every head slice longer than it.
 */
const NORMALIZE_EPS = 2 ** -14;

/** q and k rescaled to unit length per head, q then multiplied by its head's τ: q·k is then τ·cos(q, k). */
function cosineQueryKey(heads: number, temperature: Float32Array): RotateQueryKey {
  return (g, q, k) => {
    const tau = g.constant(new Tensor('float32', temperature, [heads, 1]), 'logit_scale');
    return { q: perHeadUnit(g, q, heads, tau), k: perHeadUnit(g, k, heads) };
  };
}

/** x [B, n, C] with each head's slice divided by max(‖slice‖, NORMALIZE_EPS) (and multiplied by `scale` [heads, 1]). */
function perHeadUnit(g: GraphBuilder, x: Value, heads: number, scale?: Value): Value {
  const [, tokens, C] = x.shape as [string, number, number];
  const split = ops.reshape(g, x, [0, tokens, heads, C / heads]);
  const length = ops.max(g, ops.reduceL2(g, split, [-1], true), g.constant(Tensor.fromFloat32([NORMALIZE_EPS], []), 'normalize_eps'));
  const unit = scale ? ops.mul(g, split, ops.div(g, scale, length)) : ops.div(g, split, length);
  return ops.reshape(g, unit, [0, tokens, C]);
}

/** V2's patch merging: concat the 2×2 neighbours → Linear(4C → 2C, no bias) → LN(2C). */
function patchMergingV2(g: GraphBuilder, grid: Grid, w: WeightStore, prefix: string, C: number): Grid {
  const merged = neighboursConcatenated(g, grid);
  const reduced = linear(g, merged.x, { weight: w.get(`${prefix}reduction.weight`, [2 * C, 4 * C]) }, 'reduction');
  return { ...merged, x: norm(g, reduced, readNorm(w, `${prefix}norm`, 2 * C), TORCH_LN_EPS, 'norm') };
}

/** Reads `encoder.layers.{s}.blocks.{b}.` and holds each tensor to the shape config.json implies. */
export function readSwinv2Block(w: WeightStore, prefix: string, dim: number, heads: number, mlpRatio: number): Swinv2BlockWeights {
  const hidden = Math.trunc(mlpRatio * dim);
  const lin = (name: string, out: number, inp: number, bias?: 'none') =>
    readLinear(w, `${prefix}${name}`, { inFeatures: inp, outFeatures: out, bias });
  const self = 'attention.self.';
  const fc1 = readLinear(w, `${prefix}${self}continuous_position_bias_mlp.0`, { inFeatures: 2, bias: 'required' });
  return {
    query: lin(`${self}query`, dim, dim),
    key: lin(`${self}key`, dim, dim, 'none'),
    value: lin(`${self}value`, dim, dim),
    logitScale: w.get(`${prefix}${self}logit_scale`, [heads, 1, 1]),
    positionMlp: { fc1, fc2: lin(`${self}continuous_position_bias_mlp.2`, heads, fc1.weight.shape[0], 'none') },
    attnOut: lin('attention.output.dense', dim, dim),
    layernormBefore: readNorm(w, `${prefix}layernorm_before`, dim),
    layernormAfter: readNorm(w, `${prefix}layernorm_after`, dim),
    fc1: lin('intermediate.dense', hidden, dim),
    fc2: lin('output.dense', dim, hidden),
  };
}
