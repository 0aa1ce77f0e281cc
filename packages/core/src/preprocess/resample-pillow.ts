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
 * Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc`: when shrinking, the kernel is widened by the
 * scale (antialiasing); weights are normalised in float64, then rounded half away from zero to
 * 22-bit fixed point. `in0`/`in1` is the source box along this axis (Pillow keeps it as C float).
 */
export function computeResizeCoefficients(inSize: number, outSize: number, filter: Resample, in0 = 0, in1 = inSize): ResizeCoefficients {
  const f = FILTERS[filter];
  if (!f) throw new VitkitError('INVALID_ARGUMENT', `Resample filter ${filter} has no convolution kernel (NEAREST is resampled by index).`);
  const scale = Math.fround(Math.fround(in1) - Math.fround(in0)) / outSize;
  const filterScale = Math.max(scale, 1);
  const support = f.support * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Int32Array(outSize * ksize);
  const row = new Float64Array(ksize);
  const invScale = 1 / filterScale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = in0 + (xx + 0.5) * scale;
    // C's (int) cast truncates toward zero; the clamp below makes that equal to floor for our range.
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let total = 0;
    for (let x = 0; x < xmax; x++) {
      const w = f.kernel((x + xmin - center + 0.5) * invScale);
      row[x] = w;
      total += w;
    }
    const base = xx * ksize;
    for (let x = 0; x < xmax; x++) {
      const w = total !== 0 ? row[x] / total : row[x];
      const scaled = w * (1 << PRECISION_BITS);
      weights[base + x] = w < 0 ? Math.trunc(-0.5 + scaled) : Math.trunc(0.5 + scaled);
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, weights };
}

// Pillow's clip8 drops the fraction bits with an arithmetic shift and clamps to a byte. The passes
// below write `acc >> PRECISION_BITS` (an integer) into a Uint8ClampedArray view, which does the
// clamping in the store itself.

/** Horizontal pass over rows [rowOffset, rowOffset + outHeight) of `src`, all channels interleaved. */
function resampleHorizontal(
  src: Uint8Array,
  srcWidth: number,
  channels: number,
  rowOffset: number,
  outWidth: number,
  outHeight: number,
  c: ResizeCoefficients,
): Uint8Array {
  const out = new Uint8Array(outWidth * outHeight * channels);
  const clamped = new Uint8ClampedArray(out.buffer);
  const { ksize, bounds, weights } = c;
  const srcStride = srcWidth * channels;
  let o = 0;
  for (let y = 0; y < outHeight; y++) {
    const rowStart = (y + rowOffset) * srcStride;
    for (let xx = 0; xx < outWidth; xx++) {
      const xmin = bounds[xx * 2];
      const count = bounds[xx * 2 + 1];
      const kBase = xx * ksize;
      let p = rowStart + xmin * channels;
      if (channels === 3) {
        let s0 = HALF;
        let s1 = HALF;
        let s2 = HALF;
        for (let x = 0; x < count; x++, p += 3) {
          const k = weights[kBase + x];
          s0 += src[p] * k;
          s1 += src[p + 1] * k;
          s2 += src[p + 2] * k;
        }
        clamped[o++] = s0 >> PRECISION_BITS;
        clamped[o++] = s1 >> PRECISION_BITS;
        clamped[o++] = s2 >> PRECISION_BITS;
      } else {
        for (let ch = 0; ch < channels; ch++) {
          let s = HALF;
          for (let x = 0; x < count; x++) s += src[p + x * channels + ch] * weights[kBase + x];
          clamped[o++] = s >> PRECISION_BITS;
        }
      }
    }
  }
  return out;
}

/** Vertical pass: each output row is a weighted sum of whole input rows. */
function resampleVertical(
  src: Uint8Array,
  width: number,
  channels: number,
  outHeight: number,
  c: ResizeCoefficients,
  rowShift: number,
): Uint8Array {
  const stride = width * channels;
  const out = new Uint8Array(stride * outHeight);
  const clamped = new Uint8ClampedArray(out.buffer);
  const { ksize, bounds, weights } = c;
  const acc = new Int32Array(stride);
  for (let yy = 0; yy < outHeight; yy++) {
    const ymin = bounds[yy * 2] - rowShift;
    const count = bounds[yy * 2 + 1];
    const kBase = yy * ksize;
    acc.fill(HALF);
    // Row-major accumulation keeps memory access sequential; the sum per sample is the same
    // integer sum Pillow computes (integer addition is order-independent and cannot overflow here).
    for (let y = 0; y < count; y++) {
      const k = weights[kBase + y];
      let p = (ymin + y) * stride;
      for (let i = 0; i < stride; i++, p++) acc[i] += src[p] * k;
    }
    const o = yy * stride;
    for (let i = 0; i < stride; i++) clamped[o + i] = acc[i] >> PRECISION_BITS;
  }
  return out;
}

/**
 * Resizes interleaved 8-bit pixels exactly as Pillow's `Image.resize(size, filter)` (no box, no
 * reducing_gap): horizontal pass first over only the rows the vertical pass will read, then the
 * vertical pass; a pass whose size does not change is skipped, and an unchanged size is a copy.
 */
export function resamplePillow(
  src: Uint8Array,
  width: number,
  height: number,
  channels: number,
  outWidth: number,
  outHeight: number,
  filter: Resample,
): Uint8Array {
  if (!Number.isInteger(outWidth) || !Number.isInteger(outHeight) || outWidth <= 0 || outHeight <= 0) {
    throw new VitkitError('INVALID_ARGUMENT', `Cannot resize to ${outWidth}x${outHeight}: both sides must be positive integers.`);
  }
  if (src.length !== width * height * channels) {
    throw new VitkitError('INVALID_ARGUMENT', `Pixel buffer has ${src.length} bytes, expected ${width}x${height}x${channels}.`);
  }
  if (width === outWidth && height === outHeight) return src.slice();
  if (filter === Resample.NEAREST) return resampleNearest(src, width, height, channels, outWidth, outHeight);
  if (!(filter in FILTERS)) {
    throw new VitkitError('INVALID_ARGUMENT', `Unknown resample filter ${filter}; use one of PIL's 0 (NEAREST) to 5 (HAMMING).`);
  }
  const needHorizontal = outWidth !== width;
  const needVertical = outHeight !== height;
  const horiz = computeResizeCoefficients(width, outWidth, filter);
  const vert = computeResizeCoefficients(height, outHeight, filter);
  // Pillow only runs the horizontal pass on the source rows that the vertical pass reads.
  const firstRow = vert.bounds[0];
  const lastRow = vert.bounds[outHeight * 2 - 2] + vert.bounds[outHeight * 2 - 1];
  let data = src;
  let rowShift = 0;
  let w = width;
  if (needHorizontal) {
    data = resampleHorizontal(src, width, channels, firstRow, outWidth, lastRow - firstRow, horiz);
    rowShift = firstRow;
    w = outWidth;
  }
  if (needVertical) data = resampleVertical(data, w, channels, outHeight, vert, rowShift);
  return data;
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
): Uint8Array {
  const ax = width / outWidth;
  const ay = height / outHeight;
  const xin = new Int32Array(outWidth);
  let xo = ax * 0.5;
  for (let x = 0; x < outWidth; x++) {
    xin[x] = Math.min(Math.trunc(xo), width - 1);
    xo += ax;
  }
  const out = new Uint8Array(outWidth * outHeight * channels);
  let yo = ay * 0.5;
  let o = 0;
  for (let y = 0; y < outHeight; y++) {
    const yi = Math.min(Math.trunc(yo), height - 1);
    const rowStart = yi * width * channels;
    for (let x = 0; x < outWidth; x++) {
      const p = rowStart + xin[x] * channels;
      for (let ch = 0; ch < channels; ch++) out[o++] = src[p + ch];
    }
    yo += ay;
  }
  return out;
}

/** Resizes an RGB image to `width`x`height` with Pillow-identical bytes. */
export function resizeRgb(image: RgbImage, width: number, height: number, filter: Resample = Resample.BICUBIC): RgbImage {
  return new RgbImage(resamplePillow(image.data, image.width, image.height, 3, width, height, filter), width, height);
}
