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
  readLinear,
  readNorm,
  readVector,
  Tensor,
  type Value,
  VitkitError,
  type WeightStore,
} from '@vitkit/core/internal';
import {
  mergeGatherIndex,
  paddedWindows,
  type WindowLayout,
  windowAttentionBias,
  windowGatherIndex,
  windowLayout,
  windowScatterIndex,
} from './windows.js';

/**
 * Swin as Hugging Face implements it (transformers 4.49): SwinModel and SwinForImageClassification
 * (Swin V2's classes, also listed here, are built by model-v2.ts from the pieces this file exports).
 *
 *   patch embedding (+pad) → layernorm → stages of (shifted-)window blocks, patch merging between
 *   stages → layernorm → average pool → classifier
 *
 * Tokens stay [B, H·W, C] between blocks, as in transformers. A block's padding, cyclic shift and
 * window partition are one Gather with a build-time index; its relative-position bias and shift
 * mask are one build-time constant handed to the core `attention()` as `bias`.
 */
export const SWIN_ARCHITECTURES = ['SwinModel', 'SwinForImageClassification', 'Swinv2Model', 'Swinv2ForImageClassification'] as const;
export type SwinArchitecture = (typeof SWIN_ARCHITECTURES)[number];

/** Swin V2 (model-v2.ts) or the original Swin, by the class config.json names. */
export const isSwinv2 = (architecture: SwinArchitecture): boolean => architecture.startsWith('Swinv2');

export interface SwinSpec {
  architecture: SwinArchitecture;
  embedDim: number;
  depths: number[];
  heads: number[];
  window: number;
  patch: [number, number];
  channels: number;
  mlpRatio: number;
  /** config.layer_norm_eps: blocks and the final layernorm. */
  eps: number;
  /** Prefix of the backbone's keys ('' for the base models, 'swin.' / 'swinv2.' under the classifier). */
  prefix: string;
  classifier: boolean;
  numLabels: number;
}

/** nn.LayerNorm's default eps, which the embedding norm and patch merging keep (they ignore the config). */
export const TORCH_LN_EPS = 1e-5;

export function readSwinSpec(raw: RawConfig, weights: WeightStore): SwinSpec {
  const c = new ConfigReader(raw);
  const architecture = (c.optional<string[]>('architectures')?.[0] ?? defaultArchitecture(c.string('model_type'))) as SwinArchitecture;
  if (!SWIN_ARCHITECTURES.includes(architecture)) {
    throw new VitkitError(
      'MODEL_TYPE_UNSUPPORTED',
      `@vitkit/swin cannot build "${architecture}". Supported: ${SWIN_ARCHITECTURES.join(', ')}.`,
    );
  }
  const act = c.string('hidden_act', 'gelu');
  if (act !== 'gelu') throw new VitkitError('MODEL_TYPE_UNSUPPORTED', `@vitkit/swin supports hidden_act "gelu", not "${act}".`);
  if (c.bool('use_absolute_embeddings', false)) {
    throw new VitkitError(
      'MODEL_TYPE_UNSUPPORTED',
      '@vitkit/swin does not support use_absolute_embeddings=true (transformers 4.49 cannot run it without interpolation either).',
    );
  }
  const embedDim = c.int('embed_dim');
  const depths = c.intArray('depths');
  const heads = c.intArray('num_heads');
  if (depths.length === 0 || heads.length !== depths.length) {
    throw new VitkitError(
      'CONFIG_INVALID',
      `config.json: depths ${JSON.stringify(depths)} and num_heads ${JSON.stringify(heads)} must name the same, non-zero number of stages.`,
    );
  }
  heads.forEach((h, i) => {
    const dim = embedDim * 2 ** i;
    if (h === 0 || dim % h !== 0)
      throw new VitkitError('CONFIG_INVALID', `config.json: stage ${i} has ${dim} channels, which do not split into ${h} heads.`);
  });
  const classifier = architecture.endsWith('ForImageClassification');
  const prefix = classifier ? (isSwinv2(architecture) ? 'swinv2.' : 'swin.') : '';
  const probe = `${prefix}embeddings.patch_embeddings.projection.weight`;
  if (!weights.has(probe)) {
    throw new VitkitError(
      'WEIGHTS_MISSING_TENSOR',
      `${weights.source} has no tensor "${probe}": it does not look like a ${architecture} checkpoint.`,
    );
  }
  return {
    architecture,
    embedDim,
    depths,
    heads,
    window: c.int('window_size'),
    patch: c.pair('patch_size'),
    channels: c.int('num_channels', 3),
    mlpRatio: c.number('mlp_ratio', 4),
    eps: c.number('layer_norm_eps', 1e-5),
    prefix,
    classifier,
    numLabels: classifier ? (weights.shapeOf('classifier.weight')[0] ?? 0) : 0,
  };
}

/** The class a config.json without `architectures` is, by its `model_type`. */
export const SWIN_MODEL_TYPES: Readonly<Record<string, SwinArchitecture>> = { swin: 'SwinModel', swinv2: 'Swinv2Model' };

function defaultArchitecture(modelType: string): string {
  return SWIN_MODEL_TYPES[modelType] ?? modelType;
}

/** A token grid flowing between stages: [B, height·width, channels]. */
export interface Grid {
  x: Value;
  height: number;
  width: number;
}

export function buildSwinGraph(
  g: GraphBuilder,
  { pixel_values: pixels }: Readonly<Record<string, Value>>,
  spec: SwinSpec,
  weights: WeightStore,
  req: GraphRequest,
): GraphOutputs {
  const w = weights.scoped(spec.prefix);

  let grid = g.scope('embeddings', () => embeddings(g, spec, w, pixels));
  const hidden: Grid[] = [grid];
  const attentions: Value[] = [];
  spec.depths.forEach((depth, s) => {
    const dim = spec.embedDim * 2 ** s;
    for (let b = 0; b < depth; b++) {
      const key = `encoder.layers.${s}.blocks.${b}`;
      const wantProbs = req.outputAttentions && b === depth - 1;
      const out = g.scope(key, () =>
        swinBlock(g, grid, readBlock(w, `${key}.`, dim, spec.mlpRatio), {
          heads: spec.heads[s],
          window: spec.window,
          shifted: b % 2 === 1,
          eps: spec.eps,
          wantProbs,
        }),
      );
      grid = { ...grid, x: out.x };
      if (out.probs) attentions.push(out.probs);
    }
    if (s < spec.depths.length - 1)
      grid = g.scope(`encoder.layers.${s}.downsample`, () => patchMerging(g, grid, w, `encoder.layers.${s}.downsample.`, dim));
    hidden.push(grid);
  });
  return swinOutputs(g, spec, weights, hidden, attentions, req);
}

/**
 * What both Swin versions end with: layernorm → average pool (→ classifier), and the tuples asked
 * for. `hidden` is the embeddings' grid, then each stage's output (after its patch merging).
 */
export function swinOutputs(
  g: GraphBuilder,
  spec: SwinSpec,
  weights: WeightStore,
  hidden: Grid[],
  attentions: Value[],
  req: GraphRequest,
): GraphOutputs {
  const w = weights.scoped(spec.prefix);
  const grid = hidden[hidden.length - 1];
  const C = spec.embedDim * 2 ** (spec.depths.length - 1);
  const sequence = norm(g, grid.x, readNorm(w, 'layernorm', C), spec.eps, 'layernorm');
  const pooled = ops.reduceMean(g, sequence, [1], false); // AdaptiveAvgPool1d(1) over tokens
  const outputs = spec.classifier
    ? {
        logits: linear(
          g,
          pooled,
          readLinear(weights, 'classifier', { inFeatures: C, outFeatures: spec.numLabels, bias: 'required' }),
          'classifier',
        ),
      }
    : { last_hidden_state: sequence, pooler_output: pooled };
  const tuples: Record<string, Value[]> = {};
  if (req.outputHiddenStates) {
    tuples.hidden_states = hidden.map((h) => h.x);
    tuples.reshaped_hidden_states = hidden.map((h) => toNchw(g, h));
  }
  if (req.outputAttentions) tuples.attentions = attentions;
  return { outputs, tuples };
}

/** Patch embedding: pixels padded (bottom, right) to whole patches by the Conv's own pads, then layernorm. */
export function embeddings(g: GraphBuilder, spec: SwinSpec, w: WeightStore, pixels: Value): Grid {
  const [ph, pw] = spec.patch;
  const [, , height, width] = pixels.shape as [string, number, number, number];
  const C = spec.embedDim;
  const weight = g.constant(
    w.get('embeddings.patch_embeddings.projection.weight', [C, spec.channels, ph, pw]).toFloat32(),
    'patch_embed.weight',
  );
  const bias = g.constant(readVector(w, 'embeddings.patch_embeddings.projection.bias', C).toFloat32(), 'patch_embed.bias');
  const padH = (ph - (height % ph)) % ph;
  const padW = (pw - (width % pw)) % pw;
  const maps = ops.conv2d(g, pixels, weight, bias, { strides: [ph, pw], pads: [0, 0, padH, padW] });
  const gridH = (height + padH) / ph;
  const gridW = (width + padW) / pw;
  const tokens = ops.transpose(g, ops.reshape(g, maps, [0, C, -1]), [0, 2, 1]);
  const x = norm(g, tokens, readNorm(w, 'embeddings.norm', C), TORCH_LN_EPS, 'embeddings.norm');
  return { x, height: gridH, width: gridW };
}

export interface SwinBlockWeights {
  layernormBefore: NormWeights;
  query: LinearWeights;
  key: LinearWeights;
  value: LinearWeights;
  /** [(2·window-1)², heads] */
  relativePositionBiasTable: Tensor;
  attnOut: LinearWeights;
  layernormAfter: NormWeights;
  fc1: LinearWeights;
  fc2: LinearWeights;
}

export interface SwinBlockOptions {
  heads: number;
  /** config.window_size; a grid side equal to it drops the shift, a smaller grid is refused (see windowLayout). */
  window: number;
  shifted: boolean;
  eps: number;
  wantProbs?: boolean;
  /**
   * SwinBackbone's `always_partition=True`: the window and shift stay as configured whatever the
   * grid's size (the grid is padded up to whole windows), instead of shrinking to a small grid.
   */
  alwaysPartition?: boolean;
}

/**
 * One Swin block, transformers' SwinLayer: x + WindowAttention(LN(x)); then x + MLP(LN(x)).
 * `probs` is [B·windows, heads, ws², ws²] when asked for.
 */
export function swinBlock(
  g: GraphBuilder,
  grid: Grid,
  w: SwinBlockWeights,
  o: SwinBlockOptions,
): { x: Value; probs?: Value; layout: WindowLayout } {
  const h = norm(g, grid.x, w.layernormBefore, o.eps, 'layernorm_before');
  const attn = windowAttention(g, { ...grid, x: h }, w, o);
  const x1 = ops.add(g, grid.x, attn.output);
  const f = mlp(g, norm(g, x1, w.layernormAfter, o.eps, 'layernorm_after'), w.fc1, w.fc2);
  return { x: ops.add(g, x1, f), probs: attn.probs, layout: attn.layout };
}

/**
 * (Shifted-)window self-attention over a normalised grid [B, H·W, C], back in grid order:
 * pad + shift + partition (one Gather) → q, k, v → attention() on windows as the batch, with the
 * relative-position bias (+ shift mask) as a build-time bias → output projection → reverse shift,
 * merge windows and crop (one Gather).
 */
export function windowAttention(
  g: GraphBuilder,
  grid: Grid,
  w: Pick<SwinBlockWeights, 'query' | 'key' | 'value' | 'relativePositionBiasTable' | 'attnOut'>,
  o: Omit<SwinBlockOptions, 'eps'>,
): { output: Value; probs?: Value; layout: WindowLayout } {
  const layout = o.alwaysPartition
    ? paddedWindows(grid.height, grid.width, o.window, o.shifted ? Math.floor(o.window / 2) : 0)
    : windowLayout(grid.height, grid.width, o.window, o.shifted);
  const bias = g.constant(
    windowAttentionBias(w.relativePositionBiasTable, o.heads, layout),
    layout.shift ? 'shifted_window_bias' : 'window_bias',
  );
  return inWindows(g, grid, layout, (windows) => {
    const attn = attention(g, { ...projectQkv(g, windows, w), numHeads: o.heads, bias, wantProbs: o.wantProbs });
    return { output: linear(g, attn.output, w.attnOut, 'attention.output.dense'), probs: attn.probs };
  });
}

/**
 * Runs `attend` on the windows of a grid [B, H·W, C] and puts its output back in grid order:
 * pad + shift + partition (one Gather) → attend on [B·windows, ws², C] → reverse shift, merge
 * windows and crop (one Gather).
 */
export function inWindows(
  g: GraphBuilder,
  { x, height, width }: Grid,
  layout: WindowLayout,
  attend: (windows: Value) => { output: Value; probs?: Value },
): { output: Value; probs?: Value; layout: WindowLayout } {
  const C = x.shape[2] as number;
  const n = layout.window * layout.window;
  const windows = ops.reshape(g, gatherTokens(g, x, windowGatherIndex(layout), height * width), [-1, n, C]); // [B·nW, ws², C]
  const attended = attend(windows);
  const out = ops.reshape(g, attended.output, [-1, layout.count * n, C]); // [B, nW·ws², C]
  return { output: ops.gather(g, out, windowScatterIndex(layout), 1), probs: attended.probs, layout };
}

/**
 * Gathers tokens of x [B, L, C] along axis 1 by a build-time index, where index L means a zero
 * token (the zero padding transformers adds after the layernorm).
 */
function gatherTokens(g: GraphBuilder, x: Value, index: number[], tokens: number): Value {
  if (!index.includes(tokens)) return ops.gather(g, x, index, 1);
  const zero = ops.mul(g, ops.slice(g, x, [0], [1], [1]), g.constant(Tensor.fromFloat32([0], []), 'zero'));
  return ops.gather(g, ops.concat(g, [x, zero], 1), index, 1);
}

/** SwinPatchMerging: pad to even, concat the 2×2 neighbours (x0, x1, x2, x3) → LN(4C) → Linear(4C → 2C, no bias). */
export function patchMerging(g: GraphBuilder, grid: Grid, w: WeightStore, prefix: string, C: number): Grid {
  const merged = neighboursConcatenated(g, grid);
  const normed = norm(g, merged.x, readNorm(w, `${prefix}norm`, 4 * C), TORCH_LN_EPS, 'norm');
  return { ...merged, x: linear(g, normed, { weight: w.get(`${prefix}reduction.weight`, [2 * C, 4 * C]) }, 'reduction') };
}

/** Patch merging's first step: the grid padded to even sides, each 2×2 neighbourhood concatenated → [B, ⌈H/2⌉·⌈W/2⌉, 4C]. */
export function neighboursConcatenated(g: GraphBuilder, grid: Grid): Grid {
  const height = Math.ceil(grid.height / 2);
  const width = Math.ceil(grid.width / 2);
  const C = grid.x.shape[2] as number;
  const index = mergeGatherIndex(grid.height, grid.width);
  return { x: ops.reshape(g, gatherTokens(g, grid.x, index, grid.height * grid.width), [0, height * width, 4 * C]), height, width };
}

/** [B, h·w, C] → [B, C, h, w] (transformers' reshaped_hidden_states). */
function toNchw(g: GraphBuilder, grid: Grid): Value {
  const C = grid.x.shape[2] as number;
  return ops.transpose(g, ops.reshape(g, grid.x, [0, grid.height, grid.width, C]), [0, 3, 1, 2]);
}

const lin = (w: WeightStore, name: string, out: number, inp: number): LinearWeights =>
  readLinear(w, name, { inFeatures: inp, outFeatures: out });

/** Reads `encoder.layers.{s}.blocks.{b}.` and holds each tensor to the shape config.json implies. */
export function readBlock(w: WeightStore, prefix: string, dim: number, mlpRatio: number): SwinBlockWeights {
  const hidden = Math.trunc(mlpRatio * dim);
  return {
    layernormBefore: readNorm(w, `${prefix}layernorm_before`, dim),
    query: lin(w, `${prefix}attention.self.query`, dim, dim),
    key: lin(w, `${prefix}attention.self.key`, dim, dim),
    value: lin(w, `${prefix}attention.self.value`, dim, dim),
    relativePositionBiasTable: w.get(`${prefix}attention.self.relative_position_bias_table`),
    attnOut: lin(w, `${prefix}attention.output.dense`, dim, dim),
    layernormAfter: readNorm(w, `${prefix}layernorm_after`, dim),
    fc1: lin(w, `${prefix}intermediate.dense`, hidden, dim),
    fc2: lin(w, `${prefix}output.dense`, dim, hidden),
  };
}
