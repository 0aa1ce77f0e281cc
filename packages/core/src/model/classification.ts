import { VitkitError } from '../errors/vitkit-error.js';
import type { LoadImageOptions } from '../image/image-source.js';
import { type Tensor, toFloat32Array } from '../tensor/tensor.js';

/** One class of one image: its `id2label` name, softmax probability and index. */
export interface Classification {
  label: string;
  score: number;
  index: number;
}

export interface ClassifyOptions {
  /** How many classes to return per image, best first (default 5; at most all of them). */
  topK?: number;
  /** Passed to image loading (e.g. `maxPixels`); used by `classify`. */
  load?: LoadImageOptions;
}

/** softmax(logits [B, N]) per row → the topK classes of each image, best first (ties: lower index first). */
export function topClasses(logits: Tensor, id2label: Map<number, string> | undefined, topK = 5): Classification[][] {
  if (logits.rank !== 2)
    throw new VitkitError('TENSOR_SHAPE_MISMATCH', `logits must be [batch, classes], got [${logits.shape.join(', ')}].`);
  if (!Number.isInteger(topK) || topK < 1) throw new VitkitError('INVALID_ARGUMENT', `topK must be a positive integer, got ${topK}.`);
  const [batch, n] = logits.shape;
  const data = toFloat32Array(logits);
  const results: Classification[][] = [];
  for (let b = 0; b < batch; b++) {
    const row = data.subarray(b * n, (b + 1) * n);
    let max = Number.NEGATIVE_INFINITY;
    for (const v of row) max = Math.max(max, v);
    let total = 0;
    const exp = Array.from(row, (v) => {
      const e = Math.exp(v - max);
      total += e;
      return e;
    });
    const order = exp.map((_, i) => i).sort((i, j) => exp[j] - exp[i] || i - j);
    results.push(
      order
        .slice(0, Math.min(topK, n))
        .map((index) => ({ label: id2label?.get(index) ?? `LABEL_${index}`, score: exp[index] / total, index })),
    );
  }
  return results;
}
