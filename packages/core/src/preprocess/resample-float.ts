import { VitkitError } from '../errors/vitkit-error.js';
import { type FilterTaps, filterTaps, Resample } from './resample-pillow.js';

/** A float32 image as separate channel planes (CHW), the layout torch resizes. */
export interface FloatPlanes {
  planes: Float32Array[];
  width: number;
  height: number;
}

/** The filters torch antialiases (`F.interpolate(..., antialias=True)` supports only these two). */
const ANTIALIASED: readonly Resample[] = [Resample.BILINEAR, Resample.BICUBIC];

/**
 * Resizes float32 planes as torch's `F.interpolate(mode='bilinear'|'bicubic', align_corners=False,
 * antialias=True)` does on float32 CPU tensors: Pillow's separable filter (horizontal pass, then
 * vertical; a pass whose size does not change is skipped), with the taps and every sum in float32
 * and, unlike Pillow's 8-bit path, no rounding or clamping between or after the passes.
 */
export function resampleFloat(image: FloatPlanes, outWidth: number, outHeight: number, filter: Resample): FloatPlanes {
  if (!Number.isInteger(outWidth) || !Number.isInteger(outHeight) || outWidth <= 0 || outHeight <= 0) {
    throw new VitkitError('INVALID_ARGUMENT', `Cannot resize to ${outWidth}x${outHeight}: both sides must be positive integers.`);
  }
  if (!ANTIALIASED.includes(filter)) {
    throw new VitkitError(
      'INVALID_ARGUMENT',
      `The float resize supports BILINEAR (2) and BICUBIC (3), as torch's antialiased interpolate does; got ${filter}.`,
    );
  }
  const { width, height } = image;
  let planes = image.planes;
  for (const p of planes) {
    if (p.length !== width * height) {
      throw new VitkitError('INVALID_ARGUMENT', `A plane has ${p.length} values, expected ${width}x${height}.`);
    }
  }
  if (outWidth !== width) {
    const taps = filterTaps(width, outWidth, filter, 'float32');
    planes = planes.map((p) => resampleRows(p, width, height, outWidth, taps));
  }
  if (outHeight !== height) {
    const taps = filterTaps(height, outHeight, filter, 'float32');
    planes = planes.map((p) => resampleColumns(p, outWidth, outHeight, taps));
  }
  return { planes, width: outWidth, height: outHeight };
}

/** aten's sum for one output sample: t = x0·w0, then t += xj·wj, every step in float32. */
function tapSum(src: Float32Array, start: number, stride: number, count: number, weights: Float64Array, k: number): number {
  let t = Math.fround(src[start] * weights[k]);
  for (let j = 1, p = start + stride; j < count; j++, p += stride) t = Math.fround(t + Math.fround(src[p] * weights[k + j]));
  return t;
}

/** Horizontal pass: each row of `width` samples becomes `outWidth`. */
function resampleRows(src: Float32Array, width: number, height: number, outWidth: number, taps: FilterTaps): Float32Array {
  const { ksize, bounds, weights } = taps;
  const out = new Float32Array(outWidth * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < outWidth; x++) {
      out[y * outWidth + x] = tapSum(src, y * width + bounds[x * 2], 1, bounds[x * 2 + 1], weights, x * ksize);
    }
  }
  return out;
}

/** Vertical pass: each column of `height` samples becomes `outHeight`. */
function resampleColumns(src: Float32Array, width: number, outHeight: number, taps: FilterTaps): Float32Array {
  const { ksize, bounds, weights } = taps;
  const out = new Float32Array(width * outHeight);
  for (let y = 0; y < outHeight; y++) {
    const start = bounds[y * 2] * width;
    for (let x = 0; x < width; x++) out[y * width + x] = tapSum(src, start + x, width, bounds[y * 2 + 1], weights, y * ksize);
  }
  return out;
}
