import { centerToCorners, generalizedBoxIou } from '../postprocess/boxes.js';
import type { DetrDetectionOutputs } from '../postprocess/object-detection.js';
import {
  costMatricesFromDecoded,
  type DetectionTarget,
  decodeDetrOutputs,
  type HungarianMatcherOptions,
  type MatchIndices,
  matchCostMatrices,
  softmaxRows,
} from './hungarian-matcher.js';

export interface SetPredictionLossOptions extends HungarianMatcherOptions {
  /** Relative weight of the no-object class in the cross-entropy. Default 0.1 (`eos_coefficient`). */
  eosCoefficient?: number;
  /** Weight of the L1 box loss in the total. Default 5 (`bbox_loss_coefficient`). */
  bboxLossCoefficient?: number;
  /** Weight of the GIoU loss in the total. Default 2 (`giou_loss_coefficient`). */
  giouLossCoefficient?: number;
}

/** The individual terms, under transformers' names. */
export interface SetPredictionLossTerms {
  /** Class-weighted cross-entropy over every query (unmatched ones target no-object). */
  loss_ce: number;
  /** Sum of L1 distances of matched `(cx, cy, w, h)` boxes, divided by the number of target boxes. */
  loss_bbox: number;
  /** Sum of `1 - GIoU` of matched boxes, divided by the number of target boxes. */
  loss_giou: number;
  /** Mean over images of |predicted object count - target count|. Logged only, not in `loss`, and not differentiable. */
  cardinality_error: number;
}

export interface SetPredictionLoss {
  /** `loss_ce + bboxLossCoefficient * loss_bbox + giouLossCoefficient * loss_giou`. */
  loss: number;
  lossDict: SetPredictionLossTerms;
  /** The matching the loss was computed on. */
  indices: MatchIndices[];
}

/**
 * DETR's set-prediction loss, as transformers v4.49's `ForObjectDetectionLoss` (`ImageLoss` with
 * labels, boxes and cardinality; no auxiliary decoder losses), evaluated on given outputs. Useful
 * to check a fine-tuning setup or score predictions; vitkit does not train.
 */
export function detrSetPredictionLoss(
  outputs: DetrDetectionOutputs,
  targets: readonly DetectionTarget[],
  options: SetPredictionLossOptions = {},
): SetPredictionLoss {
  const eosCoefficient = options.eosCoefficient ?? 0.1;
  const bboxLossCoefficient = options.bboxLossCoefficient ?? 5;
  const giouLossCoefficient = options.giouLossCoefficient ?? 2;
  const decoded = decodeDetrOutputs(outputs, targets, 'detrSetPredictionLoss');
  const { batch, queries, classesWithNoObject, logits, predBoxes } = decoded;
  const noObject = classesWithNoObject - 1;
  const indices = matchCostMatrices(costMatricesFromDecoded(decoded, targets, options));

  // Every query learns a class: its matched target's, or no-object.
  const targetClass = new Int32Array(batch * queries).fill(noObject);
  indices.forEach(({ predIndices, targetIndices }, b) => {
    predIndices.forEach((q, k) => {
      targetClass[b * queries + q] = targets[b].classLabels[targetIndices[k]];
    });
  });

  // torch's cross_entropy with class weights: the weighted mean divides by the sum of the weights
  // of the targets, not by the number of queries, so no-object queries count a tenth each.
  const logProbabilities = softmaxRows(logits, batch * queries, classesWithNoObject).map(Math.log);
  let weightedNll = 0;
  let weightSum = 0;
  for (let r = 0; r < batch * queries; r++) {
    const weight = targetClass[r] === noObject ? eosCoefficient : 1;
    weightedNll -= weight * logProbabilities[r * classesWithNoObject + targetClass[r]];
    weightSum += weight;
  }
  const lossCe = weightedNll / weightSum;

  // Box losses are normalised by the number of target boxes in the batch (at least 1), not by the
  // number of matches, as DETR does (and averaged over processes when training distributed).
  const numBoxes = Math.max(
    1,
    targets.reduce((n, t) => n + t.classLabels.length, 0),
  );
  let l1Sum = 0;
  let giouLossSum = 0;
  indices.forEach(({ predIndices, targetIndices }, b) => {
    predIndices.forEach((q, k) => {
      const predicted = predBoxes.subarray((b * queries + q) * 4, (b * queries + q + 1) * 4);
      const target = targets[b].boxes[targetIndices[k]];
      for (let c = 0; c < 4; c++) l1Sum += Math.abs(predicted[c] - target[c]);
      giouLossSum += 1 - generalizedBoxIou(centerToCorners(predicted), centerToCorners(target));
    });
  });

  // Cardinality: how many queries predict a real object (argmax is not no-object) vs how many exist.
  let cardinalitySum = 0;
  for (let b = 0; b < batch; b++) {
    let predictedObjects = 0;
    for (let q = 0; q < queries; q++) {
      const row = (b * queries + q) * classesWithNoObject;
      let best = 0;
      for (let c = 1; c < classesWithNoObject; c++) if (logits[row + c] > logits[row + best]) best = c;
      if (best !== noObject) predictedObjects++;
    }
    cardinalitySum += Math.abs(predictedObjects - targets[b].classLabels.length);
  }

  const lossDict: SetPredictionLossTerms = {
    loss_ce: lossCe,
    loss_bbox: l1Sum / numBoxes,
    loss_giou: giouLossSum / numBoxes,
    cardinality_error: cardinalitySum / batch,
  };
  const loss = lossDict.loss_ce + bboxLossCoefficient * lossDict.loss_bbox + giouLossCoefficient * lossDict.loss_giou;
  return { loss, lossDict, indices };
}
