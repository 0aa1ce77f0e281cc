import { VitkitError } from '@vitkit/core';
import { centerToCorners, generalizedBoxIouMatrix } from '../postprocess/boxes.js';
import type { DetrDetectionOutputs } from '../postprocess/object-detection.js';
import { linearSumAssignment } from './linear-sum-assignment.js';

/** Ground truth of one image, as DETR's `labels` entries: class ids and normalised `(cx, cy, w, h)` boxes. */
export interface DetectionTarget {
  classLabels: readonly number[];
  boxes: readonly ArrayLike<number>[];
}

export interface HungarianMatcherOptions {
  /** Weight of the classification cost, `-p(target class)`. Default 1 (DETR's `class_cost`). */
  classCost?: number;
  /** Weight of the L1 distance between `(cx, cy, w, h)` boxes. Default 5 (`bbox_cost`). */
  bboxCost?: number;
  /** Weight of `-GIoU` between corner boxes. Default 2 (`giou_cost`). */
  giouCost?: number;
}

/** One image's matched pairs: prediction (query) `predIndices[k]` ↔ target `targetIndices[k]`, queries ascending. */
export interface MatchIndices {
  predIndices: number[];
  targetIndices: number[];
}

/** Outputs read into plain arrays once, with their shape checked against the targets. */
export interface DecodedDetrOutputs {
  batch: number;
  queries: number;
  /** Classes including the no-object one (last). */
  classesWithNoObject: number;
  logits: Float32Array;
  predBoxes: Float32Array;
}

export function decodeDetrOutputs(outputs: DetrDetectionOutputs, targets: readonly DetectionTarget[], caller: string): DecodedDetrOutputs {
  const { logits, pred_boxes: predBoxes } = outputs;
  if (logits.rank !== 3 || logits.shape[2] < 2) {
    throw new VitkitError(
      'TENSOR_SHAPE_MISMATCH',
      `${caller}: logits must be [batch, queries, classes + 1], got [${logits.shape.join(', ')}].`,
    );
  }
  const [batch, queries, classesWithNoObject] = logits.shape;
  if (predBoxes.rank !== 3 || predBoxes.shape[0] !== batch || predBoxes.shape[1] !== queries || predBoxes.shape[2] !== 4) {
    throw new VitkitError(
      'TENSOR_SHAPE_MISMATCH',
      `${caller}: pred_boxes must be [${batch}, ${queries}, 4], got [${predBoxes.shape.join(', ')}].`,
    );
  }
  if (targets.length !== batch) {
    throw new VitkitError(
      'INVALID_ARGUMENT',
      `${caller}: got ${targets.length} targets for a batch of ${batch} images; pass one (possibly empty) target per image.`,
    );
  }
  targets.forEach((target, b) => {
    if (target.classLabels.length !== target.boxes.length) {
      throw new VitkitError(
        'INVALID_ARGUMENT',
        `${caller}: target ${b} has ${target.classLabels.length} class labels but ${target.boxes.length} boxes.`,
      );
    }
    for (const label of target.classLabels) {
      // A target may not be "no object" (the last class); that class is what unmatched queries learn.
      if (!Number.isInteger(label) || label < 0 || label >= classesWithNoObject - 1) {
        throw new VitkitError(
          'INVALID_ARGUMENT',
          `${caller}: target ${b} has class label ${label}, outside the model's ${classesWithNoObject - 1} classes.`,
        );
      }
    }
  });
  return { batch, queries, classesWithNoObject, logits: logits.toFloat32().data, predBoxes: predBoxes.toFloat32().data };
}

/** Softmax over all classes (no-object included) of each query, in float64. */
export function softmaxRows(logits: Float32Array, rows: number, cols: number): Float64Array {
  const probabilities = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    let max = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < cols; c++) max = Math.max(max, logits[r * cols + c]);
    let sum = 0;
    for (let c = 0; c < cols; c++) sum += probabilities[r * cols + c] = Math.exp(logits[r * cols + c] - max);
    for (let c = 0; c < cols; c++) probabilities[r * cols + c] /= sum;
  }
  return probabilities;
}

/**
 * DETR's matching cost per image, `[queries][targets]`, as transformers' `HungarianMatcher`:
 * `bboxCost * L1(cxcywh) - classCost * p(target class) - giouCost * GIoU(corners)`. The class term
 * uses the probability rather than the log-probability, which the DETR paper found makes it
 * commensurate with the box terms.
 */
export function matchingCostMatrices(
  outputs: DetrDetectionOutputs,
  targets: readonly DetectionTarget[],
  options: HungarianMatcherOptions = {},
): number[][][] {
  const decoded = decodeDetrOutputs(outputs, targets, 'matchingCostMatrices');
  return costMatricesFromDecoded(decoded, targets, options);
}

export function costMatricesFromDecoded(
  decoded: DecodedDetrOutputs,
  targets: readonly DetectionTarget[],
  options: HungarianMatcherOptions,
): number[][][] {
  const classCost = options.classCost ?? 1;
  const bboxCost = options.bboxCost ?? 5;
  const giouCost = options.giouCost ?? 2;
  if (classCost === 0 && bboxCost === 0 && giouCost === 0) {
    throw new VitkitError(
      'INVALID_ARGUMENT',
      'HungarianMatcher: classCost, bboxCost and giouCost are all 0; at least one must weigh the matching.',
    );
  }
  const { batch, queries, classesWithNoObject } = decoded;
  const probabilities = softmaxRows(decoded.logits, batch * queries, classesWithNoObject);
  const matrices: number[][][] = [];
  for (let b = 0; b < batch; b++) {
    const target = targets[b];
    const predictedBoxes = Array.from({ length: queries }, (_, q) =>
      decoded.predBoxes.subarray((b * queries + q) * 4, (b * queries + q + 1) * 4),
    );
    const giou = generalizedBoxIouMatrix(predictedBoxes.map(centerToCorners), target.boxes.map(centerToCorners));
    matrices.push(
      predictedBoxes.map((predicted, q) =>
        target.boxes.map((box, t) => {
          let l1 = 0;
          for (let k = 0; k < 4; k++) l1 += Math.abs(predicted[k] - box[k]);
          const probability = probabilities[(b * queries + q) * classesWithNoObject + target.classLabels[t]];
          return bboxCost * l1 - classCost * probability - giouCost * giou[q][t];
        }),
      ),
    );
  }
  return matrices;
}

/**
 * DETR's bipartite matching: for each image, the one-to-one assignment of queries to ground-truth
 * objects with the smallest total matching cost (queries left over are "no object"). An image
 * with no targets gets empty index lists.
 */
export function hungarianMatch(
  outputs: DetrDetectionOutputs,
  targets: readonly DetectionTarget[],
  options: HungarianMatcherOptions = {},
): MatchIndices[] {
  return matchCostMatrices(matchingCostMatrices(outputs, targets, options));
}

export function matchCostMatrices(costMatrices: readonly number[][][]): MatchIndices[] {
  return costMatrices.map((cost) => {
    const { rowIndices, colIndices } = linearSumAssignment(cost);
    return { predIndices: rowIndices, targetIndices: colIndices };
  });
}
