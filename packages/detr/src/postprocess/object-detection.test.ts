import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readSafetensors, Tensor } from '@vitkit/core';
import { describe, expect, it } from 'vitest';
import { postProcessObjectDetection } from './object-detection.js';

const detrFixtures = fileURLToPath(new URL('../../../../fixtures/detr/', import.meta.url));

interface ExpectedImage {
  scores: number[];
  labels: number[];
  boxes: number[][];
}

/**
 * Every fixture case with an `expected_postprocess.json`: the synthetic `postprocess` case keeps its
 * DETR outputs in `input.safetensors`, the model cases in `expected.safetensors`.
 */
const cases = readdirSync(detrFixtures)
  .filter((name) => existsSync(`${detrFixtures}${name}/expected_postprocess.json`))
  .sort();

function loadCase(name: string) {
  const dir = `${detrFixtures}${name}/`;
  const expected = JSON.parse(readFileSync(`${dir}expected_postprocess.json`, 'utf8')) as Record<string, unknown> & {
    target_sizes: [number, number][];
  };
  const tensorsFile = existsSync(`${dir}expected.safetensors`) ? 'expected.safetensors' : 'input.safetensors';
  const { tensors } = readSafetensors(new Uint8Array(readFileSync(dir + tensorsFile)), tensorsFile);
  const logits = tensors.get('logits');
  const predBoxes = tensors.get('pred_boxes');
  if (!logits || !predBoxes) throw new Error(`${name}/${tensorsFile} lacks logits or pred_boxes`);
  const thresholds = Object.keys(expected)
    .filter((key) => key.startsWith('threshold_'))
    .map((key) => ({ key, threshold: Number(key.slice('threshold_'.length)), images: expected[key] as ExpectedImage[] }));
  const config = existsSync(`${dir}config.json`)
    ? (JSON.parse(readFileSync(`${dir}config.json`, 'utf8')) as { id2label?: Record<string, string> })
    : {};
  return { expected, logits, predBoxes, thresholds, id2label: config.id2label };
}

const maxError = { box: 0, score: 0, compared: 0 };

describe('postProcessObjectDetection against transformers v4.49 fixtures', () => {
  it('finds the four fixture cases', () => {
    expect(cases).toEqual(['postprocess', 'resnet-basic', 'resnet-basic-padded', 'timm-resnet50-tiny']);
  });

  for (const name of cases) {
    const { expected, logits, predBoxes, thresholds, id2label } = loadCase(name);
    for (const { key, threshold, images } of thresholds) {
      it(`${name} ${key}: same labels and order, boxes within 1e-4, scores within 1e-5`, () => {
        const results = postProcessObjectDetection(
          { logits, pred_boxes: predBoxes },
          { threshold, targetSizes: expected.target_sizes, id2label },
        );
        expect(results.length).toBe(images.length);
        results.forEach((result, b) => {
          const want = images[b];
          expect(result.labels).toEqual(want.labels);
          expect(result.scores.length).toBe(want.scores.length);
          result.scores.forEach((score, i) => {
            const error = Math.abs(score - want.scores[i]);
            maxError.score = Math.max(maxError.score, error);
            maxError.compared++;
            expect(error).toBeLessThanOrEqual(1e-5);
          });
          result.boxes.forEach((box, i) => {
            box.forEach((value, k) => {
              const error = Math.abs(value - want.boxes[i][k]);
              maxError.box = Math.max(maxError.box, error);
              expect(error).toBeLessThanOrEqual(1e-4);
            });
          });
          // The object form carries the same values, with names where the config has them.
          expect(result.detections.map((d) => [d.label, d.score, d.box])).toEqual(
            result.labels.map((label, i) => [label, result.scores[i], result.boxes[i]]),
          );
          if (id2label) for (const d of result.detections) expect(d.labelName).toBe(id2label[String(d.label)]);
        });
      });
    }
  }

  it('compared every kept detection of every case (and reports the largest errors)', () => {
    console.log(
      `postprocess max |error| over ${maxError.compared} detections: boxes ${maxError.box.toExponential(2)} px, scores ${maxError.score.toExponential(2)}`,
    );
    // 20+20 + 14+10 + 5+7 (postprocess) + 10+0 + 20+20 + 16+16 (model cases).
    expect(maxError.compared).toBe(158);
  });
});

describe('postProcessObjectDetection semantics', () => {
  // One image, three queries, two real classes + no-object.
  const logits = Tensor.fromFloat32(
    [2, 0, 0, /* q1: no-object dominates */ 0, 0, 5, /* q2: tie between class 0 and 1 */ 1, 1, 0],
    [1, 3, 3],
  );
  const predBoxes = Tensor.fromFloat32([0.5, 0.5, 0.2, 0.4, 0.1, 0.1, 0.4, 0.4, 0.95, 0.5, 0.3, 0.2], [1, 3, 4]);

  it('drops the no-object column after the softmax, so it still lowers the scores', () => {
    const [image] = postProcessObjectDetection({ logits, pred_boxes: predBoxes }, { threshold: 0 });
    // q0: e^2 / (e^2 + 2) = 0.78699…; q1: 1 / (2 + e^5) = 0.0066…; q2: e / (2e + 1) = 0.42231…
    expect(image.scores[0]).toBeCloseTo(Math.exp(2) / (Math.exp(2) + 2), 6);
    expect(image.scores[1]).toBeCloseTo(1 / (2 + Math.exp(5)), 6);
    expect(image.scores[2]).toBeCloseTo(Math.E / (2 * Math.E + 1), 6);
    // Equal probabilities: the first class wins, as torch.max.
    expect(image.labels).toEqual([0, 0, 0]);
  });

  it('keeps strictly-above-threshold queries in query order, and leaves boxes normalised without target sizes', () => {
    const [image] = postProcessObjectDetection({ logits, pred_boxes: predBoxes }, { threshold: 0.4 });
    expect(image.scores.length).toBe(2);
    // q0 box (0.5, 0.5, 0.2, 0.4) -> (0.4, 0.3, 0.6, 0.7); q2 (0.95, 0.5, 0.3, 0.2) -> (0.8, 0.4, 1.1, 0.6): not clipped.
    const expected = [
      [0.4, 0.3, 0.6, 0.7],
      [0.8, 0.4, 1.1, 0.6],
    ];
    image.boxes.forEach((box, i) => {
      for (const [k, v] of box.entries()) expect(v).toBeCloseTo(expected[i][k], 6);
    });
    // A score exactly at the threshold is dropped (strict >): use q0's own float32 score.
    const [atScore] = postProcessObjectDetection({ logits, pred_boxes: predBoxes }, { threshold: image.scores[0] });
    expect(atScore.labels.length).toBe(0);
  });

  it('scales x by width and y by height, from arrays or a [batch, 2] tensor', () => {
    const fromArray = postProcessObjectDetection({ logits, pred_boxes: predBoxes }, { threshold: 0.5, targetSizes: [[100, 200]] });
    const fromTensor = postProcessObjectDetection(
      { logits, pred_boxes: predBoxes },
      { threshold: 0.5, targetSizes: Tensor.fromFloat32([100, 200], [1, 2]) },
    );
    // (0.4, 0.3, 0.6, 0.7) * (w=200, h=100, 200, 100)
    fromArray[0].boxes[0].forEach((v, k) => {
      expect(v).toBeCloseTo([80, 30, 120, 70][k], 4);
    });
    expect(fromTensor).toEqual(fromArray);
  });

  it('refuses mismatched shapes and target-size counts with VitkitErrors', () => {
    expect(() => postProcessObjectDetection({ logits, pred_boxes: Tensor.fromFloat32(new Float32Array(8), [1, 2, 4]) })).toThrow(
      expect.objectContaining({ code: 'TENSOR_SHAPE_MISMATCH' }),
    );
    expect(() => postProcessObjectDetection({ logits: Tensor.fromFloat32([1, 2], [2]), pred_boxes: predBoxes })).toThrow(
      expect.objectContaining({ code: 'TENSOR_SHAPE_MISMATCH' }),
    );
    expect(() =>
      postProcessObjectDetection(
        { logits, pred_boxes: predBoxes },
        {
          targetSizes: [
            [1, 1],
            [2, 2],
          ],
        },
      ),
    ).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
