import { VitkitError } from '../errors/vitkit-error.js';
import { Tensor, toFloat32Array } from './tensor.js';

export interface BicubicOptions {
  /**
   * torch's `scale_factor` per axis. When given, source coordinates use 1/scale (torch's rule
   * when a scale factor is passed); otherwise in/out, as with `size=`. Model code picks whichever
   * its reference implementation passes, since the two differ in the last bits.
   */
  scaleFactor?: [number, number];
  /** torch's `antialias=True`: Pillow-style taps (a = -0.5), widened when downscaling, normalised. */
  antialias?: boolean;
}

/** Keys's cubic convolution with A = -0.75, as torch's bicubic upsampling uses. */
function cubicWeights(t: number): [number, number, number, number] {
  const A = -0.75;
  const c1 = (x: number) => ((A + 2) * x - (A + 3)) * x * x + 1;
  const c2 = (x: number) => ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
  return [c2(t + 1), c1(t), c1(1 - t), c2(2 - t)];
}

function axisTaps(inSize: number, outSize: number, scale: number) {
  const idx = new Int32Array(outSize * 4);
  const w = new Float64Array(outSize * 4);
  for (let o = 0; o < outSize; o++) {
    const src = scale * (o + 0.5) - 0.5; // align_corners=False, no clamp for cubic
    const f = Math.floor(src);
    const ws = cubicWeights(src - f);
    for (let k = 0; k < 4; k++) {
      idx[o * 4 + k] = Math.min(Math.max(f - 1 + k, 0), inSize - 1);
      w[o * 4 + k] = ws[k];
    }
  }
  return { idx, w };
}

/** Cubic filter with a = -0.5, as torch's antialiased path (and Pillow) use. */
function cubicAa(x: number): number {
  const a = -0.5;
  const t = Math.abs(x);
  if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
  return 0;
}

/** Taps of torch's `_upsample_bicubic2d_aa` for one axis, padded to a fixed width per output. */
function antialiasTaps(inSize: number, outSize: number, scale: number) {
  const support = scale >= 1 ? 2 * scale : 2;
  const invScale = scale >= 1 ? 1 / scale : 1;
  const width = Math.ceil(support) * 2 + 1;
  const idx = new Int32Array(outSize * width);
  const w = new Float64Array(outSize * width);
  for (let o = 0; o < outSize; o++) {
    const center = scale * (o + 0.5);
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize);
    let total = 0;
    for (let j = 0; j < xmax - xmin; j++) total += cubicAa((j + xmin - center + 0.5) * invScale);
    for (let j = 0; j < width; j++) {
      const inside = j < xmax - xmin;
      idx[o * width + j] = inside ? xmin + j : xmin;
      w[o * width + j] = inside && total !== 0 ? cubicAa((j + xmin - center + 0.5) * invScale) / total : 0;
    }
  }
  return { idx, w, width };
}

/**
 * torch.nn.functional.interpolate(mode='bicubic', align_corners=False) on [C, H, W] data,
 * done once at graph-build time (position embeddings for a new input size).
 */
export function bicubicResize(
  data: Float32Array,
  channels: number,
  inH: number,
  inW: number,
  outH: number,
  outW: number,
  o: BicubicOptions = {},
): Float32Array {
  const sh = o.scaleFactor ? 1 / o.scaleFactor[0] : inH / outH;
  const sw = o.scaleFactor ? 1 / o.scaleFactor[1] : inW / outW;
  const ty = o.antialias ? antialiasTaps(inH, outH, sh) : { ...axisTaps(inH, outH, sh), width: 4 };
  const tx = o.antialias ? antialiasTaps(inW, outW, sw) : { ...axisTaps(inW, outW, sw), width: 4 };
  const ky = ty.width;
  const kx = tx.width;
  const out = new Float32Array(channels * outH * outW);
  for (let c = 0; c < channels; c++) {
    const base = c * inH * inW;
    for (let y = 0; y < outH; y++) {
      for (let x = 0; x < outW; x++) {
        let acc = 0;
        for (let i = 0; i < ky; i++) {
          const row = base + ty.idx[y * ky + i] * inW;
          let r = 0;
          for (let j = 0; j < kx; j++) r += data[row + tx.idx[x * kx + j]] * tx.w[x * kx + j];
          acc += r * ty.w[y * ky + i];
        }
        out[(c * outH + y) * outW + x] = acc;
      }
    }
  }
  return out;
}

export interface PositionInterpolation {
  /** Tokens before the patch grid that keep their embedding (CLS, distillation). */
  prefixTokens: number;
  gridH: number;
  gridW: number;
  scaleFactor?: [number, number];
  /** torch's `antialias=True`: Pillow-style taps (a = -0.5), widened when downscaling, normalised. */
  antialias?: boolean;
}

/**
 * Resizes learned position embeddings [1, prefix + N, C] (a square √N grid) to a gridH × gridW
 * grid, leaving the prefix tokens' embeddings as they are. Like every Hugging Face ViT class
 * (transformers 4.49), returns them unchanged when the grid is the trained one and square.
 */
export function interpolatePositionEmbeddings(pos: Tensor, p: PositionInterpolation): Tensor<'float32'> {
  const [, total, c] = pos.shape;
  const n = total - p.prefixTokens;
  if (p.scaleFactor === undefined && p.gridH * p.gridW === n && p.gridH === p.gridW) return pos.toFloat32();
  const side = Math.round(Math.sqrt(n));
  if (side * side !== n) {
    throw new VitkitError(
      'WEIGHTS_SHAPE_MISMATCH',
      `Position embeddings hold ${n} patch positions, which is not a square grid; cannot interpolate.`,
    );
  }
  const src = toFloat32Array(pos);
  // [N, C] → [C, side, side]
  const chw = new Float32Array(c * n);
  for (let i = 0; i < n; i++) for (let k = 0; k < c; k++) chw[k * n + i] = src[(p.prefixTokens + i) * c + k];
  const resized = bicubicResize(chw, c, side, side, p.gridH, p.gridW, { scaleFactor: p.scaleFactor, antialias: p.antialias });
  const m = p.gridH * p.gridW;
  const out = new Float32Array((p.prefixTokens + m) * c);
  out.set(src.subarray(0, p.prefixTokens * c));
  for (let i = 0; i < m; i++) for (let k = 0; k < c; k++) out[(p.prefixTokens + i) * c + k] = resized[k * m + i];
  return new Tensor('float32', out, [1, p.prefixTokens + m, c]);
}
