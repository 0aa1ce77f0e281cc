import { type Tensor, VitkitError } from '@vitkit/core';
import type { Box, TargetSize } from '@vitkit/detr';

/** The two heads of `GroundingDinoForObjectDetection`, under their transformers names. */
export interface GroundingDinoDetectionOutputs {
  /** `[batch, queries, max_text_len]`: each query's logit per text position, -inf past the prompt. */
  logits: Tensor;
  /** `[batch, queries, 4]`: normalised `(cx, cy, w, h)` in [0, 1]. */
  pred_boxes: Tensor;
}

export interface PostProcessGroundedOptions {
  /** Decodes a phrase's token ids (the model's tokenizer). */
  tokenizer: { decode(ids: readonly number[]): string };
  /** The `input_ids` the model ran on, `[batch, length]` (a tensor or rows of ids). */
  inputIds: Tensor | readonly (readonly number[])[];
  /** Keep queries whose best text score is strictly above this. Default 0.25, as transformers. */
  threshold?: number;
  /** A token joins a box's label when its score is strictly above this. Default 0.25. */
  textThreshold?: number;
  /** `(height, width)` of each image, to scale the boxes to pixels; without it they stay normalised. */
  targetSizes?: readonly TargetSize[] | Tensor;
}

/** One detected object: the prompt's words that name it, its score and box. */
export interface GroundedDetection {
  label: string;
  score: number;
  /** `(x0, y0, x1, y1)`: pixels with `targetSizes`, else normalised. Not clipped. */
  box: Box;
}

/** One image's kept queries in query order, as parallel arrays (transformers' form) and as objects. */
export interface GroundedImageDetections {
  scores: number[];
  boxes: Box[];
  /** transformers' `text_labels`. */
  textLabels: string[];
  detections: GroundedDetection[];
}

function fail(message: string): VitkitError {
  return new VitkitError('TENSOR_SHAPE_MISMATCH', `postProcessGroundedObjectDetection: ${message}`);
}

function readRows(inputIds: PostProcessGroundedOptions['inputIds'], batch: number): number[][] {
  let rows: number[][];
  if (Array.isArray(inputIds)) {
    rows = inputIds.map((row) => Array.from(row, Number));
  } else {
    const tensor = inputIds as Tensor;
    if (tensor.rank !== 2) throw fail(`inputIds must be [batch, length], got [${tensor.shape.join(', ')}].`);
    const [b, length] = tensor.shape;
    const values = Array.from(tensor.data as ArrayLike<number | bigint>, Number);
    rows = Array.from({ length: b }, (_, i) => values.slice(i * length, (i + 1) * length));
  }
  if (rows.length !== batch) throw fail(`got input ids for ${rows.length} prompts and logits for ${batch} images.`);
  return rows;
}

function readTargetSizes(targetSizes: NonNullable<PostProcessGroundedOptions['targetSizes']>, batch: number): TargetSize[] {
  let sizes: TargetSize[];
  if (Array.isArray(targetSizes)) {
    sizes = targetSizes.map((size) => [size[0], size[1]] as const);
  } else {
    const tensor = targetSizes as Tensor;
    if (tensor.rank !== 2 || tensor.shape[1] !== 2)
      throw fail(`targetSizes must be [batch, 2] (height, width), got [${tensor.shape.join(', ')}].`);
    const values = tensor.toFloat32().data;
    sizes = Array.from({ length: tensor.shape[0] }, (_, i) => [values[2 * i], values[2 * i + 1]] as const);
  }
  if (sizes.length !== batch) {
    throw new VitkitError('INVALID_ARGUMENT', `postProcessGroundedObjectDetection: got ${sizes.length} target sizes for ${batch} images.`);
  }
  for (const [height, width] of sizes) {
    if (!(Number.isFinite(height) && Number.isFinite(width))) {
      throw new VitkitError(
        'INVALID_ARGUMENT',
        `postProcessGroundedObjectDetection: target size (${height}, ${width}) is not two finite numbers.`,
      );
    }
  }
  return sizes;
}

function checkThreshold(value: number, name: string): number {
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new VitkitError('INVALID_ARGUMENT', `postProcessGroundedObjectDetection: ${name} must be a number, got ${String(value)}.`);
  }
  // transformers compares float32 scores with the threshold cast to float32.
  return Math.fround(value);
}

/**
 * Grounding DINO's raw outputs to labelled boxes, as transformers v5.2.0
 * `GroundingDinoProcessor.post_process_grounded_object_detection`: probabilities are the sigmoid of
 * the logits, a query's score is its best text position, queries above `threshold` are kept in query
 * order, boxes go from centre form to corners scaled by the target size, and the label is the decoded
 * input ids at the text positions above `textThreshold`. As there, only the first and the last of
 * the `max_text_len` positions are left out, so a prompt's `[SEP]` (and its "."s) can be part of a
 * label ("a dog [SEP]"); padding never is, its logits being -inf.
 */
export function postProcessGroundedObjectDetection(
  outputs: GroundingDinoDetectionOutputs,
  options: PostProcessGroundedOptions,
): GroundedImageDetections[] {
  const { logits, pred_boxes: predBoxes } = outputs;
  if (logits.rank !== 3 || logits.shape[2] < 1)
    throw fail(`logits must be [batch, queries, max_text_len], got [${logits.shape.join(', ')}].`);
  const [batch, queries, textLength] = logits.shape;
  if (predBoxes.rank !== 3 || predBoxes.shape[0] !== batch || predBoxes.shape[1] !== queries || predBoxes.shape[2] !== 4) {
    throw fail(
      `pred_boxes must be [${batch}, ${queries}, 4] to go with logits [${logits.shape.join(', ')}], got [${predBoxes.shape.join(', ')}].`,
    );
  }
  const threshold = checkThreshold(options.threshold ?? 0.25, 'threshold');
  const textThreshold = checkThreshold(options.textThreshold ?? 0.25, 'textThreshold');
  const rows = readRows(options.inputIds, batch);
  const sizes = options.targetSizes === undefined ? undefined : readTargetSizes(options.targetSizes, batch);
  const logitValues = logits.toFloat32().data;
  const boxValues = predBoxes.toFloat32().data;
  const probabilities = new Float32Array(textLength);
  const results: GroundedImageDetections[] = [];

  for (let b = 0; b < batch; b++) {
    const [height, width] = sizes?.[b] ?? [1, 1];
    // torch.Tensor(target sizes) is float32.
    const scale = [Math.fround(width), Math.fround(height), Math.fround(width), Math.fround(height)];
    const ids = rows[b];
    const image: GroundedImageDetections = { scores: [], boxes: [], textLabels: [], detections: [] };
    for (let q = 0; q < queries; q++) {
      const row = (b * queries + q) * textLength;
      let score = Number.NEGATIVE_INFINITY;
      for (let t = 0; t < textLength; t++) {
        const p = Math.fround(1 / (1 + Math.exp(-logitValues[row + t])));
        probabilities[t] = p;
        // torch.max propagates NaN (and p > NaN stays false once it is in).
        if (Number.isNaN(p)) score = p;
        else if (p > score) score = p;
      }
      if (!(score > threshold)) continue;

      // get_phrases_from_posmap: positions 0 and max_text_len - 1 never count.
      const phrase: number[] = [];
      for (let t = 1; t < textLength - 1; t++) {
        if (!(probabilities[t] > textThreshold)) continue;
        if (t >= ids.length) {
          throw new VitkitError(
            'INVALID_ARGUMENT',
            `postProcessGroundedObjectDetection: text position ${t} scores above textThreshold but the prompt has only ${ids.length} input ids; pass the input_ids the model ran on.`,
          );
        }
        phrase.push(ids[t]);
      }
      const label = options.tokenizer.decode(phrase);

      const o = (b * queries + q) * 4;
      const [cx, cy, w, h] = [boxValues[o], boxValues[o + 1], boxValues[o + 2], boxValues[o + 3]];
      // Each step rounded to float32 as the torch ops are.
      const corners = [cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h];
      const box = corners.map((value, k) => Math.fround(Math.fround(value) * scale[k])) as Box;

      image.scores.push(score);
      image.boxes.push(box);
      image.textLabels.push(label);
      image.detections.push({ label, score, box });
    }
    results.push(image);
  }
  return results;
}
