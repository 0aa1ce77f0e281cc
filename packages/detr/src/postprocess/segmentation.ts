import { Tensor, VitkitError } from '@vitkit/core';
import type { TargetSize } from './object-detection.js';

/**
 * DetrForSegmentation's outputs → panoptic, instance and semantic maps, as transformers v5.2.0's
 * `DetrImageProcessor.post_process_{panoptic,instance,semantic}_segmentation` compute them
 * (`remove_low_and_no_objects`, `compute_segments`, `check_segment_validity`), in float32 where
 * torch works in float32 so that maps agree pixel for pixel.
 *
 * Resizing to a target size is torch's bilinear `interpolate(align_corners=False)` of the whole
 * (padded) canvas, evaluated per output pixel as it is needed rather than stored: 250 class maps
 * at 800x1066 would otherwise be 850 MB.
 */

/** The heads post-processing reads, under transformers' names. */
export interface DetrSegmentationOutputs {
  /** `[batch, queries, numLabels + 1]`; the last class is "no object". */
  logits: Tensor;
  /** `[batch, queries, h, w]`: raw mask logits (a quarter of the padded input size). */
  pred_masks: Tensor;
}

export interface PostProcessPanopticOptions {
  /** Keep queries whose score (top softmax probability, no-object included) is strictly above this. Default 0.5. */
  threshold?: number;
  /** A pixel belongs to a query's own mask when `sigmoid(mask) · score >= maskThreshold`. Default 0.5. */
  maskThreshold?: number;
  /** A query is a segment only if the pixels it wins are more than this fraction of its own mask. Default 0.8. */
  overlapMaskAreaThreshold?: number;
  /** "Stuff" label ids whose queries merge into one segment per label. Default none. */
  labelIdsToFuse?: Iterable<number>;
  /** `(height, width)` per image to resize the masks to; the mask resolution without it. */
  targetSizes?: readonly TargetSize[];
}

export type PostProcessInstanceOptions = Omit<PostProcessPanopticOptions, 'labelIdsToFuse'>;

export interface PostProcessSemanticOptions {
  /** `(height, width)` per image to resize the class maps to; the mask resolution without it. */
  targetSizes?: readonly TargetSize[];
}

/** One entry of transformers' `segments_info`. */
export interface SegmentInfo {
  /** The segment's value in the map (1, 2, …). Fused stuff queries share their label's id. */
  id: number;
  labelId: number;
  /** Whether `labelId` is one of `labelIdsToFuse`. */
  wasFused: boolean;
  /** The query's score, rounded to 6 decimals as transformers does. */
  score: number;
}

export interface ImageSegmentation {
  /**
   * `[H, W]` segment ids (0 = no segment). When no query passes `threshold` every pixel is -1
   * (transformers returns a float32 map of -1 then; here it stays int32).
   */
  segmentation: Tensor<'int32'>;
  segmentsInfo: SegmentInfo[];
}

export function postProcessPanopticSegmentation(
  outputs: DetrSegmentationOutputs,
  options: PostProcessPanopticOptions = {},
): ImageSegmentation[] {
  return segmentQueries('postProcessPanopticSegmentation', outputs, options, new Set(options.labelIdsToFuse ?? []));
}

/** Panoptic's algorithm without fusion: every query that passes is its own segment (`wasFused` false). */
export function postProcessInstanceSegmentation(
  outputs: DetrSegmentationOutputs,
  options: PostProcessInstanceOptions = {},
): ImageSegmentation[] {
  return segmentQueries('postProcessInstanceSegmentation', outputs, options, new Set());
}

/**
 * `[H, W]` class ids per image: class maps `Σ_q softmax(logits)[q, c] · sigmoid(mask_q)` (no-object
 * column dropped), resized to the target size, argmax over classes (first maximum wins).
 */
export function postProcessSemanticSegmentation(
  outputs: DetrSegmentationOutputs,
  options: PostProcessSemanticOptions = {},
): Tensor<'int32'>[] {
  const what = 'postProcessSemanticSegmentation';
  const { batch, queries, classes, h, w, logits, masks } = readOutputs(what, outputs);
  const sizes = readSizes(what, options.targetSizes, batch);
  const numLabels = classes - 1;
  const results: Tensor<'int32'>[] = [];
  for (let b = 0; b < batch; b++) {
    const probs = Array.from({ length: queries }, (_, q) => softmax(logits, (b * queries + q) * classes, classes));
    const sigmoids = sigmoidOf(masks, b * queries * h * w, queries * h * w);
    // einsum('bqc,bqhw->bchw') accumulated in float32 over the queries.
    const classMaps = new Float32Array(numLabels * h * w);
    for (let c = 0; c < numLabels; c++) {
      const out = classMaps.subarray(c * h * w, (c + 1) * h * w);
      for (let q = 0; q < queries; q++) {
        const p = probs[q][c];
        const m = sigmoids.subarray(q * h * w, (q + 1) * h * w);
        for (let i = 0; i < out.length; i++) out[i] = Math.fround(out[i] + Math.fround(p * m[i]));
      }
    }
    const [height, width] = sizes?.[b] ?? [h, w];
    const resize = new Resampler(h, w, height, width);
    const map = new Int32Array(height * width);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let best = 0;
        let bestValue = Number.NEGATIVE_INFINITY;
        for (let c = 0; c < numLabels; c++) {
          const v = resize.at(classMaps, c * h * w, y, x);
          if (v > bestValue) [best, bestValue] = [c, v];
        }
        map[y * width + x] = best;
      }
    }
    results.push(new Tensor('int32', map, [height, width]));
  }
  return results;
}

function segmentQueries(
  what: string,
  outputs: DetrSegmentationOutputs,
  options: PostProcessPanopticOptions,
  fuse: ReadonlySet<number>,
): ImageSegmentation[] {
  const { batch, queries, classes, h, w, logits, masks } = readOutputs(what, outputs);
  const sizes = readSizes(what, options.targetSizes, batch);
  const threshold = Math.fround(options.threshold ?? 0.5);
  const maskThreshold = Math.fround(options.maskThreshold ?? 0.5);
  const overlapThreshold = options.overlapMaskAreaThreshold ?? 0.8;
  const noObject = classes - 1;
  const results: ImageSegmentation[] = [];
  for (let b = 0; b < batch; b++) {
    // remove_low_and_no_objects: score / label over every class, no-object included; query order kept.
    const kept: { query: number; label: number; score: number }[] = [];
    for (let q = 0; q < queries; q++) {
      const probs = softmax(logits, (b * queries + q) * classes, classes);
      let label = 0;
      for (let c = 1; c < classes; c++) if (probs[c] > probs[label]) label = c;
      if (label !== noObject && probs[label] > threshold) kept.push({ query: q, label, score: probs[label] });
    }
    const [height, width] = sizes?.[b] ?? [h, w];
    if (kept.length === 0) {
      results.push({ segmentation: new Tensor('int32', new Int32Array(height * width).fill(-1), [height, width]), segmentsInfo: [] });
      continue;
    }
    const probs = new Float32Array(kept.length * h * w);
    kept.forEach((k, i) => probs.set(sigmoidOf(masks, (b * queries + k.query) * h * w, h * w), i * h * w));
    const resize = new Resampler(h, w, height, width);
    // Per pixel: each kept query's resized probability × its score; the argmax (first wins) and
    // each query's own-mask area (weighted probability >= maskThreshold).
    const owner = new Int32Array(height * width);
    const ownArea = new Float64Array(kept.length);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let best = 0;
        let bestValue = Number.NEGATIVE_INFINITY;
        for (let k = 0; k < kept.length; k++) {
          const v = Math.fround(resize.at(probs, k * h * w, y, x) * kept[k].score);
          if (v >= maskThreshold) ownArea[k]++;
          if (v > bestValue) [best, bestValue] = [k, v];
        }
        owner[y * width + x] = best;
      }
    }
    const wonArea = new Float64Array(kept.length);
    for (const k of owner) wonArea[k]++;

    // compute_segments: ids in query order; a fused label's later queries reuse its id, and
    // reusing an id resets the running counter to it (so a later new id can collide; upstream does this).
    const segmentOf = new Int32Array(kept.length);
    const segmentsInfo: SegmentInfo[] = [];
    const fusedIds = new Map<number, number>();
    let currentId = 0;
    kept.forEach((k, i) => {
      const valid = wonArea[i] > 0 && ownArea[i] > 0 && Math.fround(wonArea[i] / ownArea[i]) > overlapThreshold;
      if (!valid) return;
      const shouldFuse = fuse.has(k.label);
      currentId = fusedIds.get(k.label) ?? currentId + 1;
      segmentOf[i] = currentId;
      segmentsInfo.push({ id: currentId, labelId: k.label, wasFused: shouldFuse, score: Number(k.score.toFixed(6)) });
      if (shouldFuse) fusedIds.set(k.label, currentId);
    });
    const map = new Int32Array(height * width);
    for (let p = 0; p < map.length; p++) map[p] = segmentOf[owner[p]];
    results.push({ segmentation: new Tensor('int32', map, [height, width]), segmentsInfo });
  }
  return results;
}

interface ReadOutputs {
  batch: number;
  queries: number;
  classes: number;
  h: number;
  w: number;
  logits: Float32Array;
  masks: Float32Array;
}

function readOutputs(what: string, outputs: DetrSegmentationOutputs): ReadOutputs {
  const { logits, pred_masks: masks } = outputs;
  if (!logits || !masks) {
    throw new VitkitError('INVALID_ARGUMENT', `${what}: needs logits and pred_masks (the outputs of a DetrForSegmentation checkpoint).`);
  }
  if (logits.rank !== 3 || logits.shape[2] < 2) {
    throw new VitkitError(
      'TENSOR_SHAPE_MISMATCH',
      `${what}: logits must be [batch, queries, classes + 1], got [${logits.shape.join(', ')}].`,
    );
  }
  const [batch, queries, classes] = logits.shape;
  if (masks.rank !== 4 || masks.shape[0] !== batch || masks.shape[1] !== queries || masks.shape[2] < 1 || masks.shape[3] < 1) {
    throw new VitkitError(
      'TENSOR_SHAPE_MISMATCH',
      `${what}: pred_masks must be [${batch}, ${queries}, h, w] to go with logits [${logits.shape.join(', ')}], got [${masks.shape.join(', ')}].`,
    );
  }
  return { batch, queries, classes, h: masks.shape[2], w: masks.shape[3], logits: logits.toFloat32().data, masks: masks.toFloat32().data };
}

function readSizes(what: string, sizes: readonly TargetSize[] | undefined, batch: number): TargetSize[] | undefined {
  if (sizes === undefined) return undefined;
  if (sizes.length !== batch) {
    throw new VitkitError(
      'INVALID_ARGUMENT',
      `${what}: got ${sizes.length} target sizes for a batch of ${batch} images; pass one (height, width) per image.`,
    );
  }
  return sizes.map(([height, width]) => {
    if (!(Number.isInteger(height) && Number.isInteger(width) && height > 0 && width > 0)) {
      throw new VitkitError(
        'INVALID_ARGUMENT',
        `${what}: target size (${height}, ${width}) must be two positive integers (height, width).`,
      );
    }
    return [height, width] as const;
  });
}

/** torch's float32 softmax of one row (max-shifted; float64 sum, float32 result). */
function softmax(values: Float32Array, offset: number, n: number): Float32Array {
  let max = Number.NEGATIVE_INFINITY;
  for (let c = 0; c < n; c++) max = Math.max(max, values[offset + c]);
  let sum = 0;
  for (let c = 0; c < n; c++) sum += Math.exp(values[offset + c] - max);
  const out = new Float32Array(n);
  for (let c = 0; c < n; c++) out[c] = Math.exp(values[offset + c] - max) / sum;
  return out;
}

function sigmoidOf(values: Float32Array, offset: number, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = 1 / (1 + Math.exp(-values[offset + i]));
  return out;
}

/** Source indices and weights of `F.interpolate(mode="bilinear", align_corners=False)` along one axis, in float32 as torch's CPU kernel. */
function linearPlan(inSize: number, outSize: number): { i0: Int32Array; i1: Int32Array; l0: Float32Array; l1: Float32Array } {
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const l0 = new Float32Array(outSize);
  const l1 = new Float32Array(outSize);
  const f = Math.fround;
  const scale = f(inSize / outSize);
  for (let o = 0; o < outSize; o++) {
    if (inSize === outSize) {
      [i0[o], i1[o], l0[o], l1[o]] = [o, o, 1, 0];
      continue;
    }
    const real = Math.max(f(f(scale * f(o + 0.5)) - 0.5), 0);
    const lo = Math.floor(real);
    i0[o] = lo;
    i1[o] = lo + (lo < inSize - 1 ? 1 : 0);
    l1[o] = Math.min(Math.max(f(real - lo), 0), 1);
    l0[o] = f(1 - l1[o]);
  }
  return { i0, i1, l0, l1 };
}

/** One [h, w] plane at (y, x) of the resized [H, W] plane: width first, then height, each step float32. */
class Resampler {
  private readonly rows;
  private readonly cols;
  constructor(
    h: number,
    private readonly w: number,
    outH: number,
    outW: number,
  ) {
    this.rows = linearPlan(h, outH);
    this.cols = linearPlan(w, outW);
  }

  at(plane: Float32Array, offset: number, y: number, x: number): number {
    const f = Math.fround;
    const { rows: r, cols: c, w } = this;
    const top = offset + r.i0[y] * w;
    const bottom = offset + r.i1[y] * w;
    const t0 = f(f(plane[top + c.i0[x]] * c.l0[x]) + f(plane[top + c.i1[x]] * c.l1[x]));
    const t1 = f(f(plane[bottom + c.i0[x]] * c.l0[x]) + f(plane[bottom + c.i1[x]] * c.l1[x]));
    return f(f(t0 * r.l0[y]) + f(t1 * r.l1[y]));
  }
}
