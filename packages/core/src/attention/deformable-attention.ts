import { VitkitError } from '../errors/vitkit-error.js';
import { linear } from '../graph/blocks.js';
import type { GraphBuilder } from '../graph/graph-builder.js';
import { cast, reshape, softmax, unsqueeze, where } from '../graph/ops.js';
import { readLinear } from '../graph/read-weights.js';
import { type Dim, formatShape, type Value } from '../graph/value.js';
import { Tensor } from '../tensor/tensor.js';
import type { WeightStore } from '../weights/weight-store.js';
import { DEFORMABLE_SAMPLING_KERNELS, type DeformableSamplingKernelName } from './deformable-sampling.js';

export type { DeformableSamplingKernelName } from './deformable-sampling.js';

export interface MultiScaleDeformableAttentionArgs {
  /** [B, Q, C], position embedding already added. */
  query: Value;
  /** [B, S, C]: the levels' feature maps flattened row-major and concatenated, S = Σ h·w. */
  value: Value;
  /** [B, S], 1/true = valid, 0/false = padding (any numeric or bool dtype): padded values are zeroed. */
  valueMask?: Value;
  /** [B, Q, L, 2] (x, y) or [B, Q, L, 4] (x, y, w, h), normalized to [0, 1] per level. */
  referencePoints: Value;
  /** Each level's [height, width], in the order the levels are concatenated in `value`. */
  levelShapes: ReadonlyArray<readonly [number, number]>;
  numHeads: number;
  numPoints: number;
}

/**
 * Multi-scale deformable attention (Deformable DETR, Grounding DINO), as transformers'
 * `*MultiscaleDeformableAttention` computes it on its pure-PyTorch path: each query predicts, per
 * head, level and point, an offset from its reference point and a weight (softmax over levels ×
 * points); the value maps are sampled bilinearly there (zeros outside, align_corners=False) and summed
 * with those weights; then `output_proj`. `w` is scoped to the module (`sampling_offsets`,
 * `attention_weights`, `value_proj`, `output_proj`). Level shapes are build-time constants; the batch
 * may be symbolic. The sampling kernel is the graph's (chosen per backend above graph/). → [B, Q, C]
 */
export function multiScaleDeformableAttention(
  g: GraphBuilder,
  w: WeightStore,
  args: MultiScaleDeformableAttentionArgs,
  kernel: DeformableSamplingKernelName = g.deformableSamplingKernel,
): Value {
  const { c, queries } = checkArgs(args);
  const { numHeads: heads, numPoints: points, levelShapes } = args;
  const levels = levelShapes.length;
  const layer = (name: string, outFeatures: number) => readLinear(w, name, { inFeatures: c, outFeatures, bias: 'required' });
  const offsetsLinear = layer('sampling_offsets', heads * levels * points * 2);
  const weightsLinear = layer('attention_weights', heads * levels * points);
  const valueLinear = layer('value_proj', c);
  const outputLinear = layer('output_proj', c);

  let value = linear(g, args.value, valueLinear, 'value_proj');
  if (args.valueMask) {
    const keep = args.valueMask.dtype === 'bool' ? args.valueMask : cast(g, args.valueMask, 'bool', BOOL);
    value = where(g, unsqueeze(g, keep, [-1]), value, g.constant(Tensor.fromFloat32([0], []), 'zero'));
  }
  const offsets = reshape(g, linear(g, args.query, offsetsLinear, 'sampling_offsets'), [0, 0, heads, levels, points, 2]);
  const logits = reshape(g, linear(g, args.query, weightsLinear, 'attention_weights'), [0, 0, heads, levels * points]);
  const weights = reshape(g, softmax(g, logits, -1), [0, 0, heads, levels, points]);
  const sampled = DEFORMABLE_SAMPLING_KERNELS[kernel](g, {
    value,
    offsets,
    referencePoints: args.referencePoints,
    weights,
    levelShapes,
    numHeads: heads,
    queries,
  });
  return linear(g, sampled, outputLinear, 'output_proj');
}

const BOOL = 9;

function checkArgs(args: MultiScaleDeformableAttentionArgs): { c: number; queries: number } {
  const { query, value, valueMask, referencePoints: ref, levelShapes, numHeads, numPoints } = args;
  const fail = (why: string) =>
    new VitkitError(
      'GRAPH_SHAPE_MISMATCH',
      `multiScaleDeformableAttention: ${why} (query ${formatShape(query.shape)}, value ${formatShape(value.shape)}, ` +
        `referencePoints ${formatShape(ref.shape)}, levels ${JSON.stringify(levelShapes)}).`,
    );
  const positive = (n: number) => Number.isInteger(n) && n > 0;
  if (!positive(numHeads) || !positive(numPoints))
    throw fail(`numHeads (${numHeads}) and numPoints (${numPoints}) must be positive integers`);
  if (levelShapes.length === 0 || !levelShapes.every((s) => s.length === 2 && positive(s[0]) && positive(s[1]))) {
    throw fail('levelShapes must list at least one [height, width] of positive integers');
  }
  if (query.shape.length !== 3 || value.shape.length !== 3) throw fail('query and value must be [batch, tokens, channels]');
  const [, queries, c] = query.shape;
  if (typeof c !== 'number' || typeof queries !== 'number')
    throw fail('the query count and channels must be known when the graph is built');
  if (c % numHeads !== 0) throw fail(`${c} channels do not split into ${numHeads} heads`);
  if (value.shape[2] !== c) throw fail('query and value must have the same channels');
  const tokens = levelShapes.reduce((n, [h, w]) => n + h * w, 0);
  if (value.shape[1] !== tokens) throw fail(`value has ${value.shape[1]} tokens but the levels hold ${tokens}`);
  if (!sameDim(query.shape[0], value.shape[0])) throw fail('query and value differ in batch');
  if (ref.shape.length !== 4 || (ref.shape[3] !== 2 && ref.shape[3] !== 4))
    throw fail('referencePoints must be [batch, queries, levels, 2 or 4]');
  if (ref.shape[1] !== queries || ref.shape[2] !== levelShapes.length || !sameDim(ref.shape[0], query.shape[0])) {
    throw fail(`referencePoints must be [batch, ${queries}, ${levelShapes.length}, 2 or 4]`);
  }
  if (valueMask && (valueMask.shape.length !== 2 || valueMask.shape[1] !== tokens || !sameDim(valueMask.shape[0], value.shape[0]))) {
    throw fail(`valueMask must be [batch, ${tokens}], got ${formatShape(valueMask.shape)}`);
  }
  return { c, queries };
}

function sameDim(a: Dim, b: Dim): boolean {
  return a === b || typeof a !== 'number' || typeof b !== 'number';
}
