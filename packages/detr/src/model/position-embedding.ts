import { type GraphBuilder, ops, Tensor, type Value } from '@vitkit/core/internal';

/**
 * DETR's sine position embedding (`DetrSinePositionEmbedding(d_model / 2, normalize=True)`):
 * running counts of valid pixels down the columns (y) and along the rows (x), normalised to
 * (0, 2π] by the last count, each divided by `10000^(2⌊i/2⌋ / F)` and alternated sin, cos, sin, …
 * over the F = d_model / 2 features; y features first, then x.
 */
export const SINE_TEMPERATURE = 10000;
export const SINE_SCALE = 2 * Math.PI;
export const SINE_EPS = 1e-6;

/** `temperature ** (2 * floor(i / 2) / F)` for i < F, in float32 as torch computes it. */
export function sineFrequencies(features: number): Float32Array {
  const dimT = new Float32Array(features);
  for (let i = 0; i < features; i++) dimT[i] = SINE_TEMPERATURE ** ((2 * Math.floor(i / 2)) / features);
  return dimT;
}

/**
 * The embedding for one [h, w] mask (1 = valid), computed here: `[h * w, d_model]`, tokens in
 * row-major order. The reference the graph's version is tested against.
 */
export function sinePositionEmbedding(mask: ArrayLike<number>, h: number, w: number, dModel: number): Float32Array {
  const features = dModel / 2;
  const dimT = sineFrequencies(features);
  const yEmbed = new Float32Array(h * w);
  const xEmbed = new Float32Array(h * w);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      const valid = mask[i * w + j] ? 1 : 0;
      yEmbed[i * w + j] = (i > 0 ? yEmbed[(i - 1) * w + j] : 0) + valid;
      xEmbed[i * w + j] = (j > 0 ? xEmbed[i * w + j - 1] : 0) + valid;
    }
  }
  const f32 = Math.fround;
  const out = new Float32Array(h * w * dModel);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      const t = i * w + j;
      const y = f32(f32(yEmbed[t] / f32(yEmbed[(h - 1) * w + j] + SINE_EPS)) * SINE_SCALE);
      const x = f32(f32(xEmbed[t] / f32(xEmbed[i * w + w - 1] + SINE_EPS)) * SINE_SCALE);
      for (let k = 0; k < features; k++) {
        const py = f32(y / dimT[k]);
        const px = f32(x / dimT[k]);
        out[t * dModel + k] = k % 2 === 0 ? Math.sin(py) : Math.cos(py);
        out[t * dModel + features + k] = k % 2 === 0 ? Math.sin(px) : Math.cos(px);
      }
    }
  }
  return out;
}

/**
 * How the graph takes sin / cos: ONNX Sin and Cos (correctly rounded on cpu and wasm), or Taylor
 * polynomials of Mul / Add. WGSL lets sin / cos be off by 2^-11 (absolute), and SwiftShader is:
 * DETR's decoder multiplies the embedding into attention logits, so on WebGPU that error alone
 * moved pred_masks by 3e-3 on the panoptic fixture; the polynomials keep it near 5e-7.
 */
export type SineTrig = 'onnx' | 'polynomial';

/**
 * The same embedding in the graph, for a runtime mask `[B, h, w]` (float 0/1) of any size:
 * `[B, h * w, d_model]`. The running counts are CumSums (exact for 0/1 counts).
 */
export function sinePositionEmbeddingGraph(g: GraphBuilder, mask: Value, dModel: number, trig: SineTrig = 'onnx'): Value {
  const features = dModel / 2;
  const scalar = (v: number, name: string) => g.constant(Tensor.fromFloat32([v], []), name);
  // y_embed[b, i, j] = Σ_{i' ≤ i} m[b, i', j];  x_embed[b, i, j] = Σ_{j' ≤ j} m[b, i, j'].
  const yEmbed = ops.cumSum(g, mask, 1);
  const xEmbed = ops.cumSum(g, mask, 2);
  const normalise = (e: Value, last: Value) =>
    ops.mul(g, ops.div(g, e, ops.add(g, last, scalar(SINE_EPS, 'eps'))), scalar(SINE_SCALE, 'two_pi'));
  const y = normalise(yEmbed, ops.gather(g, yEmbed, [-1], 1)); // / y_embed[:, -1:, :]
  const x = normalise(xEmbed, ops.gather(g, xEmbed, [-1], 2)); // / x_embed[:, :, -1:]
  // [B, h, w, 1] / dim_t → [B, h, w, F]; y features then x features.
  const dimT = g.constant(new Tensor('float32', sineFrequencies(features), [features]), 'dim_t');
  const perFeature = (e: Value) => ops.div(g, ops.reshape(g, e, [0, 0, 0, 1]), dimT);
  const phase = ops.concat(g, [perFeature(y), perFeature(x)], 3);
  // Even features take sin, odd ones cos (torch.stack((sin[0::2], cos[1::2]), dim=4).flatten(3)).
  const even = new Float32Array(dModel);
  for (let k = 0; k < dModel; k++) even[k] = (k % features) % 2 === 0 ? 1 : 0;
  const odd = even.map((v) => 1 - v);
  const [sin, cos] = trig === 'onnx' ? [ops.sin(g, phase), ops.cos(g, phase)] : [taylorSin(g, phase), taylorCos(g, phase)];
  const pos = ops.add(
    g,
    ops.mul(g, sin, g.constant(new Tensor('float32', even, [dModel]), 'sin_features')),
    ops.mul(g, cos, g.constant(new Tensor('float32', odd, [dModel]), 'cos_features')),
  );
  return ops.reshape(g, pos, [0, -1, dModel]);
}

/** float32 π split so that `(x - PI_HI) - PI_LO` reduces [0, 2π] to [-π, π] almost exactly (x - PI_HI is exact for x ≥ π/2). */
const PI_HI = Math.fround(Math.PI);
const PI_LO = Math.fround(Math.PI - PI_HI);

/** `(-1)^k / n!` for the Taylor terms; the last kept term (degree 19 / 20) is below 3e-8 at |y| = π. */
const taylorCoefficient = (n: number, k: number) => {
  let factorial = 1;
  for (let i = 2; i <= n; i++) factorial *= i;
  return (k % 2 === 0 ? 1 : -1) / factorial;
};

/** Horner's rule in y² over the coefficients of degrees `first, first + 2, …, last`, multiplied by y when `first` is 1. */
function taylor(g: GraphBuilder, phase: Value, first: 0 | 1, last: number): Value {
  const scalar = (v: number, name: string) => g.constant(Tensor.fromFloat32([v], []), name);
  // phase ∈ [0, 2π] (a normalised coordinate over dim_t ≥ 1); sin(x) = -sin(x - π), cos(x) = -cos(x - π).
  const y = ops.sub(g, ops.sub(g, phase, scalar(PI_HI, 'pi_hi')), scalar(PI_LO, 'pi_lo'));
  const y2 = ops.mul(g, y, y);
  let acc = scalar(-taylorCoefficient(last, (last - first) / 2), 'taylor');
  for (let n = last - 2; n >= first; n -= 2)
    acc = ops.add(g, ops.mul(g, acc, y2), scalar(-taylorCoefficient(n, (n - first) / 2), 'taylor'));
  return first === 1 ? ops.mul(g, acc, y) : acc;
}

const taylorSin = (g: GraphBuilder, phase: Value) => taylor(g, phase, 1, 19);
const taylorCos = (g: GraphBuilder, phase: Value) => taylor(g, phase, 0, 20);
