import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readSafetensors, Tensor } from '@vitkit/core';
import { describe, expect, it } from 'vitest';
import { type DetectionTarget, hungarianMatch, matchingCostMatrices } from './hungarian-matcher.js';
import { detrSetPredictionLoss } from './set-prediction-loss.js';

const fixtureDir = fileURLToPath(new URL('../../../../fixtures/detr/postprocess/', import.meta.url));

interface MatcherFixture {
  class_cost: number;
  bbox_cost: number;
  giou_cost: number;
  eos_coefficient: number;
  bbox_loss_coefficient: number;
  giou_loss_coefficient: number;
  targets: { class_labels: number[]; boxes: number[][] }[];
  matcher_indices: { pred_idx: number[]; target_idx: number[] }[];
  cost_matrix: number[][][];
  loss_dict: { loss_ce: number; loss_bbox: number; loss_giou: number; cardinality_error: number };
  loss: number;
}

const fixture = JSON.parse(readFileSync(`${fixtureDir}matcher.json`, 'utf8')) as MatcherFixture;
const { tensors } = readSafetensors(new Uint8Array(readFileSync(`${fixtureDir}input.safetensors`)));
const outputs = { logits: tensors.get('logits')!, pred_boxes: tensors.get('pred_boxes')! };
const targets: DetectionTarget[] = fixture.targets.map((t) => ({ classLabels: t.class_labels, boxes: t.boxes }));
const options = {
  classCost: fixture.class_cost,
  bboxCost: fixture.bbox_cost,
  giouCost: fixture.giou_cost,
  eosCoefficient: fixture.eos_coefficient,
  bboxLossCoefficient: fixture.bbox_loss_coefficient,
  giouLossCoefficient: fixture.giou_loss_coefficient,
};

describe('HungarianMatcher and set-prediction loss against transformers v4.49 (fixtures/detr/postprocess/matcher.json)', () => {
  it('reproduces the cost matrices within 1e-4 (image 1 has no targets: [20][0])', () => {
    const costs = matchingCostMatrices(outputs, targets, options);
    expect(costs.map((c) => [c.length, c[0]?.length])).toEqual([
      [20, 5],
      [20, 0],
    ]);
    let maxError = 0;
    costs.forEach((matrix, b) => {
      matrix.forEach((row, q) => {
        row.forEach((value, t) => {
          maxError = Math.max(maxError, Math.abs(value - fixture.cost_matrix[b][q][t]));
        });
      });
    });
    console.log(`cost matrix max |error| ${maxError.toExponential(2)}`);
    expect(maxError).toBeLessThanOrEqual(1e-4);
  });

  it('matches the same queries to the same targets', () => {
    const indices = hungarianMatch(outputs, targets, options);
    expect(indices).toEqual(fixture.matcher_indices.map((m) => ({ predIndices: m.pred_idx, targetIndices: m.target_idx })));
  });

  it('reproduces each loss term and the total within 1e-5', () => {
    const result = detrSetPredictionLoss(outputs, targets, options);
    const errors = {
      loss_ce: Math.abs(result.lossDict.loss_ce - fixture.loss_dict.loss_ce),
      loss_bbox: Math.abs(result.lossDict.loss_bbox - fixture.loss_dict.loss_bbox),
      loss_giou: Math.abs(result.lossDict.loss_giou - fixture.loss_dict.loss_giou),
      cardinality_error: Math.abs(result.lossDict.cardinality_error - fixture.loss_dict.cardinality_error),
      loss: Math.abs(result.loss - fixture.loss),
    };
    console.log(
      'loss |error|',
      Object.entries(errors)
        .map(([k, v]) => `${k} ${v.toExponential(2)}`)
        .join(', '),
    );
    for (const error of Object.values(errors)) expect(error).toBeLessThanOrEqual(1e-5);
    expect(result.indices).toEqual(hungarianMatch(outputs, targets, options));
  });

  it('uses DETR defaults (1/5/2, eos 0.1, 5/2) when no options are given', () => {
    expect(detrSetPredictionLoss(outputs, targets).loss).toBeCloseTo(fixture.loss, 5);
  });
});

describe('set-prediction loss on a hand-checked case', () => {
  // One image, two queries, one real class + no-object. Query 0 sits on the target.
  const logits = Tensor.fromFloat32([2, 0, /* q1 */ 0, 2], [1, 2, 2]);
  const predBoxes = Tensor.fromFloat32([0.5, 0.5, 0.2, 0.2, /* q1 */ 0.2, 0.2, 0.1, 0.1], [1, 2, 4]);
  // The same float32 values as the prediction, so the box distance is exactly 0.
  const target: DetectionTarget[] = [{ classLabels: [0], boxes: [Float32Array.of(0.5, 0.5, 0.2, 0.2)] }];

  it('gives the weighted cross-entropy, zero box losses and cardinality 0', () => {
    const { loss, lossDict, indices } = detrSetPredictionLoss({ logits, pred_boxes: predBoxes }, target);
    expect(indices).toEqual([{ predIndices: [0], targetIndices: [0] }]);
    // Both queries have -log p(correct) = log(1 + e^-2); weights 1 (q0 -> class 0) and 0.1 (q1 -> no-object):
    // (1 * x + 0.1 * x) / (1 + 0.1) = x.
    const nll = Math.log(1 + Math.exp(-2));
    expect(lossDict.loss_ce).toBeCloseTo(nll, 12);
    expect(lossDict.loss_bbox).toBe(0);
    expect(lossDict.loss_giou).toBeCloseTo(0, 12);
    // argmax: q0 -> class 0 (an object), q1 -> no-object: 1 predicted, 1 target.
    expect(lossDict.cardinality_error).toBe(0);
    expect(loss).toBeCloseTo(nll, 12);
  });

  it('weights no-object by eosCoefficient, and normalises box losses by the target count', () => {
    // Swap which query is on the target: now q1 must match (box cost), with the "wrong" logits.
    const swapped = Tensor.fromFloat32([0.2, 0.2, 0.1, 0.1, 0.5, 0.5, 0.2, 0.2], [1, 2, 4]);
    const { lossDict, indices } = detrSetPredictionLoss({ logits, pred_boxes: swapped }, target, { eosCoefficient: 0.5 });
    expect(indices).toEqual([{ predIndices: [1], targetIndices: [0] }]);
    // q0 targets no-object with p = 1/(1+e^2); q1 targets class 0 with p = 1/(1+e^2): both -log p = log(1 + e^2).
    // Weighted mean (0.5 x + 1 x) / 1.5 = x: the weights cancel because both losses are equal.
    expect(lossDict.loss_ce).toBeCloseTo(Math.log(1 + Math.exp(2)), 12);
    // Cardinality: q0 argmax is class 0, q1 no-object: 1 vs 1 target.
    expect(lossDict.cardinality_error).toBe(0);

    // Unequal per-query losses show the weighting: no targets, both queries target no-object.
    const empty = detrSetPredictionLoss({ logits, pred_boxes: swapped }, [{ classLabels: [], boxes: [] }], { eosCoefficient: 0.5 });
    // q0: -log(1/(1+e^2)) = log(1+e^2); q1: log(1+e^-2); equal weights 0.5 -> plain mean.
    expect(empty.lossDict.loss_ce).toBeCloseTo((Math.log(1 + Math.exp(2)) + Math.log(1 + Math.exp(-2))) / 2, 12);
    // num_boxes is clamped to 1, and there are no matches: box losses 0. One query predicts an object, 0 exist.
    expect([empty.lossDict.loss_bbox, empty.lossDict.loss_giou, empty.lossDict.cardinality_error]).toEqual([0, 0, 1]);
    expect(empty.indices).toEqual([{ predIndices: [], targetIndices: [] }]);
  });

  it('divides the weighted cross-entropy by the sum of target weights, not by the query count', () => {
    // Three queries, one target matched to q0; q1, q2 target no-object.
    const threeLogits = Tensor.fromFloat32([0, 0, /* q1 */ 0, 0, /* q2 */ 3, 0], [1, 3, 2]);
    const threeBoxes = Tensor.fromFloat32([0.5, 0.5, 0.2, 0.2, 0.1, 0.1, 0.1, 0.1, 0.9, 0.9, 0.1, 0.1], [1, 3, 4]);
    const { lossDict, indices } = detrSetPredictionLoss({ logits: threeLogits, pred_boxes: threeBoxes }, target);
    expect(indices[0].predIndices).toEqual([0]);
    // q0: log 2 (weight 1); q1: log 2 (weight 0.1); q2: -log(1/(1+e^3)) = log(1+e^3) (weight 0.1).
    const expected = (Math.LN2 + 0.1 * Math.LN2 + 0.1 * Math.log(1 + Math.exp(3))) / 1.2;
    expect(lossDict.loss_ce).toBeCloseTo(expected, 12);
  });

  it('refuses targets that do not fit the outputs', () => {
    expect(() => hungarianMatch({ logits, pred_boxes: predBoxes }, [])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => hungarianMatch({ logits, pred_boxes: predBoxes }, [{ classLabels: [1], boxes: [[0.5, 0.5, 0.1, 0.1]] }])).toThrow(
      /class label 1/,
    );
    expect(() => hungarianMatch({ logits, pred_boxes: predBoxes }, [{ classLabels: [0, 0], boxes: [[0.5, 0.5, 0.1, 0.1]] }])).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => hungarianMatch({ logits, pred_boxes: predBoxes }, target, { classCost: 0, bboxCost: 0, giouCost: 0 })).toThrow(/all 0/);
  });
});
