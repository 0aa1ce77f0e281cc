import { type Tensor, VitkitError } from '@vitkit/core';
import type { Box } from './boxes.js';

/** The two DETR heads, under the names transformers gives them. */
export interface DetrDetectionOutputs {
  /** `[batch, queries, numLabels + 1]`; the last class is "no object". */
  logits: Tensor;
  /** `[batch, queries, 4]`: normalised `(cx, cy, w, h)` in [0, 1]. */
  pred_boxes: Tensor;
}

/** `(height, width)` of each image, in pixels. */
export type TargetSize = readonly [height: number, width: number];

export interface PostProcessObjectDetectionOptions {
  /** Keep queries whose score is strictly above this. Default 0.5, as transformers. */
  threshold?: number;
  /**
   * Size of each image to scale the boxes to. Without it the boxes stay normalised to [0, 1]. Pass
   * the original image sizes to get boxes on the original image: DETR boxes are relative to the
   * unpadded image, so resizing does not change them.
   */
  targetSizes?: readonly TargetSize[] | Tensor;
  /** Class names by id (config.json's `id2label`); adds `labelName` to each detection. */
  id2label?: Readonly<Record<string | number, string>>;
}

export interface Detection {
  /** Class id (index into the logits, no-object excluded). */
  label: number;
  /** `id2label[label]`, when a map was given and has the id. */
  labelName?: string;
  score: number;
  /** `(x0, y0, x1, y1)`: pixels with `targetSizes`, else normalised. Not clipped to the image. */
  box: Box;
}

/** One image's kept queries, in query order, both as parallel arrays (transformers' form) and as objects. */
export interface ImageDetections {
  scores: number[];
  labels: number[];
  boxes: Box[];
  detections: Detection[];
}

/**
 * Turns DETR's raw outputs into detections, as transformers'
 * `DetrImageProcessor.post_process_object_detection` (v4.49): per query, the score is the largest
 * softmax probability among the real classes (the no-object column is dropped after the softmax,
 * so it still takes its share), the label is that class, and the box goes from centre form to
 * corners, scaled by the target size. Kept queries stay in query order; nothing is sorted or
 * suppressed, because DETR's set prediction already produces one query per object.
 */
export function postProcessObjectDetection(
  outputs: DetrDetectionOutputs,
  options: PostProcessObjectDetectionOptions = {},
): ImageDetections[] {
  const { logits, pred_boxes: predBoxes } = outputs;
  const threshold = options.threshold ?? 0.5;
  if (logits.rank !== 3 || logits.shape[2] < 2) {
    throw new VitkitError(
      'TENSOR_SHAPE_MISMATCH',
      `postProcessObjectDetection: logits must be [batch, queries, classes + 1], got [${logits.shape.join(', ')}].`,
    );
  }
  const [batch, queries, classesWithNoObject] = logits.shape;
  if (predBoxes.rank !== 3 || predBoxes.shape[0] !== batch || predBoxes.shape[1] !== queries || predBoxes.shape[2] !== 4) {
    throw new VitkitError(
      'TENSOR_SHAPE_MISMATCH',
      `postProcessObjectDetection: pred_boxes must be [${batch}, ${queries}, 4] to go with logits [${logits.shape.join(', ')}], got [${predBoxes.shape.join(', ')}].`,
    );
  }
  const sizes = options.targetSizes === undefined ? undefined : readTargetSizes(options.targetSizes);
  if (sizes !== undefined && sizes.length !== batch) {
    throw new VitkitError(
      'INVALID_ARGUMENT',
      `postProcessObjectDetection: got ${sizes.length} target sizes for a batch of ${batch} images; pass one (height, width) per image.`,
    );
  }

  const logitValues = logits.toFloat32().data;
  const boxValues = predBoxes.toFloat32().data;
  // transformers compares a float32 score with the threshold cast to float32.
  const threshold32 = Math.fround(threshold);
  const numLabels = classesWithNoObject - 1;
  const results: ImageDetections[] = [];

  for (let b = 0; b < batch; b++) {
    const [height, width] = sizes?.[b] ?? [1, 1];
    // The scale factors are float32 in transformers (torch.Tensor of the sizes).
    const scale = [Math.fround(width), Math.fround(height), Math.fround(width), Math.fround(height)];
    const image: ImageDetections = { scores: [], labels: [], boxes: [], detections: [] };
    for (let q = 0; q < queries; q++) {
      const row = (b * queries + q) * classesWithNoObject;
      // Softmax in float64 over all columns, no-object included (max-shifted for stability).
      let max = Number.NEGATIVE_INFINITY;
      for (let c = 0; c < classesWithNoObject; c++) max = Math.max(max, logitValues[row + c]);
      let denominator = 0;
      for (let c = 0; c < classesWithNoObject; c++) denominator += Math.exp(logitValues[row + c] - max);
      // Argmax over the float32-rounded probabilities of the real classes; the first of equal
      // maxima wins, as torch.max does.
      let label = -1;
      let score = Number.NEGATIVE_INFINITY;
      for (let c = 0; c < numLabels; c++) {
        const probability = Math.fround(Math.exp(logitValues[row + c] - max) / denominator);
        if (probability > score) {
          score = probability;
          label = c;
        }
      }
      if (!(score > threshold32)) continue;

      const o = (b * queries + q) * 4;
      const [cx, cy, w, h] = [boxValues[o], boxValues[o + 1], boxValues[o + 2], boxValues[o + 3]];
      // Each step rounded to float32 like the torch ops, so boxes agree to the last bit or so.
      const corners = [cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h];
      const box = corners.map((value, k) => Math.fround(Math.fround(value) * scale[k])) as Box;

      image.scores.push(score);
      image.labels.push(label);
      image.boxes.push(box);
      const labelName = options.id2label?.[label];
      image.detections.push(labelName === undefined ? { label, score, box } : { label, labelName, score, box });
    }
    results.push(image);
  }
  return results;
}

function readTargetSizes(targetSizes: readonly TargetSize[] | Tensor): TargetSize[] {
  let sizes: TargetSize[];
  if (Array.isArray(targetSizes)) {
    sizes = targetSizes.map((size) => [size[0], size[1]] as const);
  } else {
    const tensor = targetSizes as Tensor;
    if (tensor.rank !== 2 || tensor.shape[1] !== 2) {
      throw new VitkitError(
        'TENSOR_SHAPE_MISMATCH',
        `postProcessObjectDetection: targetSizes must be [batch, 2] (height, width), got [${tensor.shape.join(', ')}].`,
      );
    }
    const values = tensor.toFloat32().data;
    sizes = Array.from({ length: tensor.shape[0] }, (_, i) => [values[2 * i], values[2 * i + 1]] as const);
  }
  for (const [height, width] of sizes) {
    if (!(Number.isFinite(height) && Number.isFinite(width))) {
      throw new VitkitError(
        'INVALID_ARGUMENT',
        `postProcessObjectDetection: target size (${height}, ${width}) is not a pair of finite numbers (height, width).`,
      );
    }
  }
  return sizes;
}
