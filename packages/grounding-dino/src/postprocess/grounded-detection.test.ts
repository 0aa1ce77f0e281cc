import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readSafetensors, Tensor } from '@vitkit/core';
import { describe, expect, it } from 'vitest';
import { BertTokenizer, type BertTokenizerConfig } from '../text/bert-tokenizer.js';
import { postProcessGroundedObjectDetection } from './grounded-detection.js';

const fixture = fileURLToPath(new URL('../../../../fixtures/grounding_dino/swin-bert-tiny/', import.meta.url));
const tokenizer = BertTokenizer.fromVocab(
  readFileSync(`${fixture}vocab.txt`, 'utf8'),
  JSON.parse(readFileSync(`${fixture}tokenizer_config.json`, 'utf8')) as BertTokenizerConfig,
);
const read = (file: string) => readSafetensors(new Uint8Array(readFileSync(fixture + file)), file).tensors;
const expectedTensors = read('expected.safetensors');
const inputTensors = read('input.safetensors');
const logits = expectedTensors.get('logits') as Tensor;
const predBoxes = expectedTensors.get('pred_boxes') as Tensor;
const inputIds = inputTensors.get('input_ids') as Tensor;

interface ExpectedImage {
  scores: number[];
  boxes: number[][];
  text_labels: string[];
}
const expected = JSON.parse(readFileSync(`${fixture}expected_postprocess.json`, 'utf8')) as Record<string, unknown> & {
  target_sizes: [number, number][];
};
const thresholdCases = Object.keys(expected)
  .filter((key) => key.startsWith('threshold_'))
  .map((key) => {
    const [, threshold, , textThreshold] = key.split('_');
    return { key, threshold: Number(threshold), textThreshold: Number(textThreshold), images: expected[key] as ExpectedImage[] };
  });

describe('postProcessGroundedObjectDetection against transformers v5.2.0 (swin-bert-tiny fixture)', () => {
  it('the fixture stores -inf logits past each prompt and has both threshold pairs', () => {
    expect(thresholdCases.map((c) => c.key)).toEqual(['threshold_0.0_text_0.25', 'threshold_0.45_text_0.4']);
    const data = logits.toFloat32().data;
    // Query 0 of image 1 ("a dog.", 5 real tokens): positions 5.. are -inf.
    const row = (1 * 8 + 0) * 16;
    expect(Array.from(data.slice(row + 5, row + 16)).every((v) => v === Number.NEGATIVE_INFINITY)).toBe(true);
    expect(Number.isFinite(data[row + 4])).toBe(true);
  });

  for (const { key, threshold, textThreshold, images } of thresholdCases) {
    it(`${key}: same kept queries and text labels, scores and boxes within 1e-5`, () => {
      const results = postProcessGroundedObjectDetection(
        { logits, pred_boxes: predBoxes },
        { tokenizer, inputIds, threshold, textThreshold, targetSizes: expected.target_sizes },
      );
      expect(results.length).toBe(images.length);
      results.forEach((result, b) => {
        const want = images[b];
        expect(result.textLabels).toEqual(want.text_labels);
        expect(result.scores.length).toBe(want.scores.length);
        result.scores.forEach((s, i) =>
          expect(Math.abs(s - want.scores[i])).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(want.scores[i]))),
        );
        result.boxes.forEach((box, i) =>
          box.forEach((v, k) => expect(Math.abs(v - want.boxes[i][k])).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(want.boxes[i][k])))),
        );
        expect(result.detections.map((d) => d.label)).toEqual(want.text_labels);
      });
    });
  }

  it('input ids given as rows of numbers work the same as the int64 tensor', () => {
    const rows = [0, 1].map((b) => Array.from(inputIds.data as BigInt64Array, Number).slice(b * 9, (b + 1) * 9));
    const a = postProcessGroundedObjectDetection(
      { logits, pred_boxes: predBoxes },
      { tokenizer, inputIds, threshold: 0.45, textThreshold: 0.4 },
    );
    const b = postProcessGroundedObjectDetection(
      { logits, pred_boxes: predBoxes },
      { tokenizer, inputIds: rows, threshold: 0.45, textThreshold: 0.4 },
    );
    expect(b).toEqual(a);
    // Without target sizes the boxes stay normalised.
    expect(a[0].boxes[0].every((v) => v > -0.5 && v < 1.5)).toBe(true);
  });
});

describe('postProcessGroundedObjectDetection on small hand-made outputs', () => {
  // One image, two queries, max_text_len 6; the prompt "a cat." is [CLS] a cat . [SEP] (5 ids).
  const ids = [[101, 1030, 1031, 1012, 102]];
  const inf = Number.NEGATIVE_INFINITY;
  const outputs = {
    logits: new Tensor('float32', Float32Array.from([5, 2, -1, 0.5, 3, inf, -3, -2, -2, -2, -2, inf]), [1, 2, 6]),
    pred_boxes: new Tensor('float32', Float32Array.from([0.5, 0.5, 0.2, 0.4, 0.1, 0.1, 0.1, 0.1]), [1, 2, 4]),
  };

  it('scores by the best position (even [CLS]), labels from positions 1..len-2 above textThreshold', () => {
    const [image] = postProcessGroundedObjectDetection(outputs, {
      tokenizer,
      inputIds: ids,
      threshold: 0.3,
      textThreshold: 0.6,
      targetSizes: [[100, 200]],
    });
    // sigmoid(5) from [CLS] is the score; positions with sigmoid > 0.6: 1 (2), 3 (0.5 -> 0.622), 4 (3): "a", ".", "[SEP]".
    expect(image.scores).toEqual([Math.fround(1 / (1 + Math.exp(-5)))]);
    expect(image.textLabels).toEqual(['a. [SEP]']);
    expect(image.boxes.length).toBe(1);
    // (cx, cy, w, h) = (0.5, 0.5, 0.2, 0.4) on a 200 x 100 image, in float32.
    image.boxes[0].forEach((v, k) => expect(v).toBeCloseTo([80, 30, 120, 70][k], 4));
  });

  it('keeps nothing above a threshold no score passes, and refuses mismatched inputs', () => {
    expect(postProcessGroundedObjectDetection(outputs, { tokenizer, inputIds: ids, threshold: 0.999 })[0].scores).toEqual([]);
    expect(() => postProcessGroundedObjectDetection(outputs, { tokenizer, inputIds: [...ids, ...ids] })).toThrow(
      expect.objectContaining({ code: 'TENSOR_SHAPE_MISMATCH' }),
    );
    expect(() => postProcessGroundedObjectDetection(outputs, { tokenizer, inputIds: ids, targetSizes: [] })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() =>
      postProcessGroundedObjectDetection(outputs, { tokenizer, inputIds: [[101, 1030]], threshold: 0, textThreshold: 0.1 }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() =>
      postProcessGroundedObjectDetection(
        { logits: outputs.logits, pred_boxes: new Tensor('float32', new Float32Array(4), [1, 1, 4]) },
        { tokenizer, inputIds: ids },
      ),
    ).toThrow(expect.objectContaining({ code: 'TENSOR_SHAPE_MISMATCH' }));
  });
});
