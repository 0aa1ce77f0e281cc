import { VitkitError } from '../errors/vitkit-error.js';
import { RgbImage } from '../image/rgb-image.js';

/**
 * Resampling filters, numbered as PIL numbers them (`Image.Resampling`), because
 * `preprocessor_config.json` stores `resample` as that integer.
 */
export enum Resample {
  NEAREST = 0,
  LANCZOS = 1,
  BILINEAR = 2,
  BICUBIC = 3,
  BOX = 4,
  HAMMING = 5,
}

interface Filter {
  kernel: (x: number) => number;
  support: number;
}

// The kernels below follow Pillow's Resample.c definitions, evaluated in float64 as C does.
const boxKernel = (x: number): number => (x > -0.5 && x <= 0.5 ? 1 : 0);
const bilinearKernel = (x: number): number => {
  const ax = Math.abs(x);
  return ax < 1 ? 1 - ax : 0;
};
// Pillow writes the constant 0.54 and 0.46 as C floats, so they carry float32 rounding.
const HAMMING_A = Math.fround(0.54);
const HAMMING_B = Math.fround(0.46);
const hammingKernel = (x: number): number => {
  let ax = Math.abs(x);
  if (ax === 0) return 1;
  if (ax >= 1) return 0;
  ax *= Math.PI;
  return (Math.sin(ax) / ax) * (HAMMING_A + HAMMING_B * Math.cos(ax));
};
const CUBIC_A = -0.5;
const bicubicKernel = (x: number): number => {
  const ax = Math.abs(x);
  if (ax < 1) return ((CUBIC_A + 2) * ax - (CUBIC_A + 3)) * ax * ax + 1;
  if (ax < 2) return (((ax - 5) * ax + 8) * ax - 4) * CUBIC_A;
  return 0;
};
const sinc = (x: number): number => {
  if (x === 0) return 1;
  const px = x * Math.PI;
  return Math.sin(px) / px;
};
const lanczosKernel = (x: number): number => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0);

const FILTERS: Partial<Record<Resample, Filter>> = {
  [Resample.BOX]: { kernel: boxKernel, support: 0.5 },
  [Resample.BILINEAR]: { kernel: bilinearKernel, support: 1 },
  [Resample.HAMMING]: { kernel: hammingKernel, support: 1 },
  [Resample.BICUBIC]: { kernel: bicubicKernel, support: 2 },
  [Resample.LANCZOS]: { kernel: lanczosKernel, support: 3 },
};

/** Fixed-point fraction bits Pillow uses for 8-bit images: 32 bits minus 8 for the pixel and 2 of headroom. */
const PRECISION_BITS = 32 - 8 - 2;
const HALF = 1 << (PRECISION_BITS - 1);

/** Per output sample: the first input index it reads, how many, and its normalised weights (`ksize` slots each, unused zero). */
export interface FilterTaps {
  ksize: number;
  bounds: Int32Array; // [start0, count0, start1, count1, ...]
  weights: Float64Array; // outSize * ksize
}

/**
 * The filter taps along one axis, as Pillow's `precompute_coeffs` computes them: when shrinking, the
 * kernel is widened by the scale (antialiasing), and each output's weights are normalised to sum 1.
 * `arithmetic` is the float type the steps are evaluated in: Pillow uses C doubles (with the source
 * box `in0`/`in1` as C floats); torch's antialiased interpolate (aten `_upsample_*_aa`) the same
 * formula in float32 for float32 input, which moves the weights by a few ulps.
 */
export function filterTaps(
  inSize: number,
  outSize: number,
  filter: Resample,
  arithmetic: 'float64' | 'float32' = 'float64',
  in0 = 0,
  in1 = inSize,
): FilterTaps {
  const f = FILTERS[filter];
  if (!f) throw new VitkitError('INVALID_ARGUMENT', `Resample filter ${filter} has no convolution kernel (NEAREST is resampled by index).`);
  const r = arithmetic === 'float32' ? Math.fround : (x: number) => x;
  const scale = r(Math.fround(Math.fround(in1) - Math.fround(in0)) / outSize);
  const filterScale = Math.max(scale, 1);
  const support = r(f.support * filterScale);
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Float64Array(outSize * ksize);
  const invScale = r(1 / filterScale);
  for (let xx = 0; xx < outSize; xx++) {
    const center = r(in0 + (xx + 0.5) * scale);
    // C's (int) cast truncates toward zero; the clamp below makes that equal to floor for our range.
    let xmin = Math.trunc(r(center - support) + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(r(center + support) + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    const base = xx * ksize;
    let total = 0;
    for (let x = 0; x < xmax; x++) {
      const w = r(f.kernel(r((r(x + xmin - center) + 0.5) * invScale)));
      weights[base + x] = w;
      total = r(total + w);
    }
    if (total !== 0) for (let x = 0; x < xmax; x++) weights[base + x] = r(weights[base + x] / total);
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, weights };
}

/**
 * Per output sample: the first input index it reads, how many it reads, and the fixed-point
 * weights (`ksize` slots per output, unused slots zero).
 */
export interface ResizeCoefficients {
  ksize: number;
  bounds: Int32Array; // [start0, count0, start1, count1, ...]
  weights: Int32Array; // outSize * ksize
}

/**
 * Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc`: the float64 taps rounded half away from
 * zero to 22-bit fixed point.
 */
export function computeResizeCoefficients(inSize: number, outSize: number, filter: Resample, in0 = 0, in1 = inSize): ResizeCoefficients {
  const taps = filterTaps(inSize, outSize, filter, 'float64', in0, in1);
  const weights = new Int32Array(taps.weights.length);
  for (let i = 0; i < weights.length; i++) {
    const w = taps.weights[i];
    const scaled = w * (1 << PRECISION_BITS);
    weights[i] = w < 0 ? Math.trunc(-0.5 + scaled) : Math.trunc(0.5 + scaled);
  }
  return { ksize: taps.ksize, bounds: taps.bounds, weights };
}

// Pillow's clip8 drops the fraction bits with an arithmetic shift and clamps to a byte. The passes
// below write `acc >> PRECISION_BITS` (an integer) into a Uint8ClampedArray view, which does the
// clamping in the store itself.

/** A window of the resized image, in output pixels: resizing then cropping, without computing the rest. */
export interface ResizeWindow {
  left: number;
  top: number;
  width: number;
  height: number;
}

/**
 * Horizontal pass for output columns [left, left + outWidth) on source rows
 * [rowOffset, rowOffset + rows). Each output sample is independent, so a window gives the same bytes
 * as Pillow's full pass followed by a crop.
 */
function resampleHorizontal(
  src: Uint8Array,
  srcWidth: number,
  channels: number,
  rowOffset: number,
  rows: number,
  c: ResizeCoefficients,
  left: number,
  outWidth: number,
): Uint8Array {
  const out = new Uint8Array(outWidth * rows * channels);
  const clamped = new Uint8ClampedArray(out.buffer);
  const { ksize, bounds, weights } = c;
  const srcStride = srcWidth * channels;
  if (channels === 3) {
    // The RGB case is the hot one: two rows at a time share each weight load, six sums stay in
    // registers. Integer sums are the same as Pillow's one-pixel-at-a-time loop.
    const outStride = outWidth * 3;
    let y = 0;
    for (; y + 2 <= rows; y += 2) {
      const rowA = (y + rowOffset) * srcStride;
      let oA = y * outStride;
      for (let xx = left; xx < left + outWidth; xx++) {
        let k = xx * ksize;
        const kEnd = k + bounds[xx * 2 + 1];
        let p = rowA + bounds[xx * 2] * 3;
        let a0 = HALF;
        let a1 = HALF;
        let a2 = HALF;
        let b0 = HALF;
        let b1 = HALF;
        let b2 = HALF;
        for (; k < kEnd; k++, p += 3) {
          const w = weights[k];
          const q = p + srcStride;
          a0 += src[p] * w;
          a1 += src[p + 1] * w;
          a2 += src[p + 2] * w;
          b0 += src[q] * w;
          b1 += src[q + 1] * w;
          b2 += src[q + 2] * w;
        }
        clamped[oA] = a0 >> PRECISION_BITS;
        clamped[oA + 1] = a1 >> PRECISION_BITS;
        clamped[oA + 2] = a2 >> PRECISION_BITS;
        const oB = oA + outStride;
        clamped[oB] = b0 >> PRECISION_BITS;
        clamped[oB + 1] = b1 >> PRECISION_BITS;
        clamped[oB + 2] = b2 >> PRECISION_BITS;
        oA += 3;
      }
    }
    for (; y < rows; y++) {
      const rowStart = (y + rowOffset) * srcStride;
      let o = y * outStride;
      for (let xx = left; xx < left + outWidth; xx++) {
        let k = xx * ksize;
        const kEnd = k + bounds[xx * 2 + 1];
        let p = rowStart + bounds[xx * 2] * 3;
        let s0 = HALF;
        let s1 = HALF;
        let s2 = HALF;
        for (; k < kEnd; k++, p += 3) {
          const w = weights[k];
          s0 += src[p] * w;
          s1 += src[p + 1] * w;
          s2 += src[p + 2] * w;
        }
        clamped[o] = s0 >> PRECISION_BITS;
        clamped[o + 1] = s1 >> PRECISION_BITS;
        clamped[o + 2] = s2 >> PRECISION_BITS;
        o += 3;
      }
    }
    return out;
  }
  let o = 0;
  for (let y = 0; y < rows; y++) {
    const rowStart = (y + rowOffset) * srcStride;
    for (let xx = left; xx < left + outWidth; xx++) {
      const count = bounds[xx * 2 + 1];
      const kBase = xx * ksize;
      const p = rowStart + bounds[xx * 2] * channels;
      for (let ch = 0; ch < channels; ch++) {
        let s = HALF;
        for (let x = 0; x < count; x++) s += src[p + x * channels + ch] * weights[kBase + x];
        clamped[o++] = s >> PRECISION_BITS;
      }
    }
  }
  return out;
}

/**
 * Vertical pass for output rows [top, top + outHeight): each is a weighted sum of whole rows of
 * `src`, whose first row is source row `rowShift`.
 */
function resampleVertical(
  src: Uint8Array,
  stride: number,
  c: ResizeCoefficients,
  top: number,
  outHeight: number,
  rowShift: number,
): Uint8Array {
  const out = new Uint8Array(stride * outHeight);
  const clamped = new Uint8ClampedArray(out.buffer);
  const { ksize, bounds, weights } = c;
  let o = 0;
  for (let yy = top; yy < top + outHeight; yy++) {
    const first = (bounds[yy * 2] - rowShift) * stride;
    const kBase = yy * ksize;
    const kEnd = kBase + bounds[yy * 2 + 1];
    // Four neighbouring samples at a time with their sums in registers (Pillow goes one by one; the
    // integer sums are the same). The few source rows involved stay in cache.
    let i = 0;
    for (; i + 4 <= stride; i += 4) {
      let s0 = HALF;
      let s1 = HALF;
      let s2 = HALF;
      let s3 = HALF;
      for (let k = kBase, p = first + i; k < kEnd; k++, p += stride) {
        const w = weights[k];
        s0 += src[p] * w;
        s1 += src[p + 1] * w;
        s2 += src[p + 2] * w;
        s3 += src[p + 3] * w;
      }
      clamped[o] = s0 >> PRECISION_BITS;
      clamped[o + 1] = s1 >> PRECISION_BITS;
      clamped[o + 2] = s2 >> PRECISION_BITS;
      clamped[o + 3] = s3 >> PRECISION_BITS;
      o += 4;
    }
    for (; i < stride; i++) {
      let s = HALF;
      for (let k = kBase, p = first + i; k < kEnd; k++, p += stride) s += src[p] * weights[k];
      clamped[o++] = s >> PRECISION_BITS;
    }
  }
  return out;
}

/** Rows [top, top + height) and columns [left, left + width) of interleaved pixels. */
function cropPixels(src: Uint8Array, width: number, channels: number, w: ResizeWindow): Uint8Array {
  const out = new Uint8Array(w.width * w.height * channels);
  const rowBytes = w.width * channels;
  for (let y = 0; y < w.height; y++) {
    const from = ((w.top + y) * width + w.left) * channels;
    out.set(src.subarray(from, from + rowBytes), y * rowBytes);
  }
  return out;
}

/**
 * Resizes interleaved 8-bit pixels exactly as Pillow's `Image.resize(size, filter)` (no box, no
 * reducing_gap): horizontal pass first over only the rows the vertical pass will read, then the
 * vertical pass; a pass whose size does not change is skipped, and an unchanged size is a copy.
 * With `window`, only that part of the resized image is computed and returned (same bytes as a
 * full resize followed by a crop).
 */
export function resamplePillow(
  src: Uint8Array,
  width: number,
  height: number,
  channels: number,
  outWidth: number,
  outHeight: number,
  filter: Resample,
  window: ResizeWindow = { left: 0, top: 0, width: outWidth, height: outHeight },
): Uint8Array {
  if (!Number.isInteger(outWidth) || !Number.isInteger(outHeight) || outWidth <= 0 || outHeight <= 0) {
    throw new VitkitError('INVALID_ARGUMENT', `Cannot resize to ${outWidth}x${outHeight}: both sides must be positive integers.`);
  }
  if (src.length !== width * height * channels) {
    throw new VitkitError('INVALID_ARGUMENT', `Pixel buffer has ${src.length} bytes, expected ${width}x${height}x${channels}.`);
  }
  const { left, top } = window;
  if (
    ![left, top, window.width, window.height].every(Number.isInteger) ||
    left < 0 ||
    top < 0 ||
    window.width <= 0 ||
    window.height <= 0 ||
    left + window.width > outWidth ||
    top + window.height > outHeight
  ) {
    throw new VitkitError(
      'INVALID_ARGUMENT',
      `Window ${window.width}x${window.height}+${left}+${top} is not inside the ${outWidth}x${outHeight} output.`,
    );
  }
  if (width === outWidth && height === outHeight) return cropPixels(src, width, channels, window);
  if (filter === Resample.NEAREST) return resampleNearest(src, width, height, channels, outWidth, outHeight, window);
  if (!(filter in FILTERS)) {
    throw new VitkitError('INVALID_ARGUMENT', `Unknown resample filter ${filter}; use one of PIL's 0 (NEAREST) to 5 (HAMMING).`);
  }
  const needHorizontal = outWidth !== width;
  const needVertical = outHeight !== height;
  const vert = needVertical ? computeResizeCoefficients(height, outHeight, filter) : undefined;
  // Only the source rows the vertical pass reads go through the horizontal pass, as in Pillow.
  const last = top + window.height - 1;
  const firstRow = vert ? vert.bounds[top * 2] : top;
  const endRow = vert ? vert.bounds[last * 2] + vert.bounds[last * 2 + 1] : top + window.height;
  const rows = needHorizontal
    ? resampleHorizontal(
        src,
        width,
        channels,
        firstRow,
        endRow - firstRow,
        computeResizeCoefficients(width, outWidth, filter),
        left,
        window.width,
      )
    : cropPixels(src, width, channels, { left, top: firstRow, width: window.width, height: endRow - firstRow });
  return vert ? resampleVertical(rows, window.width * channels, vert, top, window.height, firstRow) : rows;
}

/**
 * Pillow resizes with NEAREST through its affine "scale" path: source position starts at half a
 * step and is accumulated in float64, then truncated.
 */
function resampleNearest(
  src: Uint8Array,
  width: number,
  height: number,
  channels: number,
  outWidth: number,
  outHeight: number,
  window: ResizeWindow,
): Uint8Array {
  const ax = width / outWidth;
  const ay = height / outHeight;
  const xin = new Int32Array(outWidth);
  let xo = ax * 0.5;
  for (let x = 0; x < outWidth; x++) {
    xin[x] = Math.min(Math.trunc(xo), width - 1);
    xo += ax;
  }
  const out = new Uint8Array(window.width * window.height * channels);
  let yo = ay * 0.5;
  let o = 0;
  for (let y = 0; y < window.top + window.height; y++) {
    if (y >= window.top) {
      const rowStart = Math.min(Math.trunc(yo), height - 1) * width * channels;
      for (let x = window.left; x < window.left + window.width; x++) {
        const p = rowStart + xin[x] * channels;
        for (let ch = 0; ch < channels; ch++) out[o++] = src[p + ch];
      }
    }
    yo += ay;
  }
  return out;
}

/**
 * Resizes an RGB image to `width`x`height` with Pillow-identical bytes; with `window`, returns only
 * that part of the result (resize-then-crop without computing the discarded pixels).
 */
export function resizeRgb(
  image: RgbImage,
  width: number,
  height: number,
  filter: Resample = Resample.BICUBIC,
  window?: ResizeWindow,
): RgbImage {
  const w = window ?? { left: 0, top: 0, width, height };
  return new RgbImage(resamplePillow(image.data, image.width, image.height, 3, width, height, filter, w), w.width, w.height);
}
