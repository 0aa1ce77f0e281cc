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
 * Source rows of `F.interpolate(mask, size=out)` (mode "nearest", PyTorch's CPU kernel): index
 * `min(floor(i * (in / out)), in - 1)` with a float32 scale. Constants of the input size, so the
 * graph downsamples the mask with one Gather per axis.
 */
export function nearestIndices(inSize: number, outSize: number): number[] {
  if (inSize === outSize) return Array.from({ length: outSize }, (_, i) => i);
  if (outSize === 2 * inSize) return Array.from({ length: outSize }, (_, i) => i >> 1);
  const scale = Math.fround(inSize / outSize);
  return Array.from({ length: outSize }, (_, i) => Math.min(Math.floor(Math.fround(i * scale)), inSize - 1));
}

/**
 * The embedding for one [h, w] mask (1 = valid), computed here: `[h * w, d_model]`, tokens in
 * row-major order. Used for the all-ones mask (no `pixel_mask` input), where it is a constant.
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

/** 1 where `row >= col` ([n, n]): `T @ m` sums m over rows 0..i, i.e. cumsum without a CumSum op. */
function cumsumMatrix(n: number, lowerOnLeft: boolean): Tensor<'float32'> {
  const t = new Float32Array(n * n);
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) t[r * n + c] = (lowerOnLeft ? c <= r : r <= c) ? 1 : 0;
  return new Tensor('float32', t, [n, n]);
}

/**
 * The same embedding in the graph, for a runtime mask `[B, h, w]` (float 0/1): `[B, h * w, d_model]`.
 * Cumulative sums are MatMuls with constant triangular matrices (exact for 0/1 counts), so every op
 * runs on the session's device.
 */
export function sinePositionEmbeddingGraph(g: GraphBuilder, mask: Value, dModel: number): Value {
  const [, h, w] = mask.shape as [string | number, number, number];
  const features = dModel / 2;
  const scalar = (v: number, name: string) => g.constant(Tensor.fromFloat32([v], []), name);
  // y_embed[b, i, j] = Σ_{i' ≤ i} m[b, i', j];  x_embed[b, i, j] = Σ_{j' ≤ j} m[b, i, j'].
  const yEmbed = ops.matMul(g, g.constant(cumsumMatrix(h, true), 'cumsum_rows'), mask);
  const xEmbed = ops.matMul(g, mask, g.constant(cumsumMatrix(w, false), 'cumsum_cols'));
  const normalise = (e: Value, last: Value) =>
    ops.mul(g, ops.div(g, e, ops.add(g, last, scalar(SINE_EPS, 'eps'))), scalar(SINE_SCALE, 'two_pi'));
  const y = normalise(yEmbed, ops.slice(g, yEmbed, [h - 1], [h], [1]));
  const x = normalise(xEmbed, ops.slice(g, xEmbed, [w - 1], [w], [2]));
  // [B, h, w, 1] / dim_t → [B, h, w, F]; y features then x features.
  const dimT = g.constant(new Tensor('float32', sineFrequencies(features), [features]), 'dim_t');
  const phase = ops.concat(g, [ops.div(g, ops.reshape(g, y, [0, h, w, 1]), dimT), ops.div(g, ops.reshape(g, x, [0, h, w, 1]), dimT)], 3);
  // Even features take sin, odd ones cos (torch.stack((sin[0::2], cos[1::2]), dim=4).flatten(3)).
  const even = new Float32Array(dModel);
  for (let k = 0; k < dModel; k++) even[k] = (k % features) % 2 === 0 ? 1 : 0;
  const odd = even.map((v) => 1 - v);
  const pos = ops.add(
    g,
    ops.mul(g, ops.sin(g, phase), g.constant(new Tensor('float32', even, [dModel]), 'sin_features')),
    ops.mul(g, ops.cos(g, phase), g.constant(new Tensor('float32', odd, [dModel]), 'cos_features')),
  );
  return ops.reshape(g, pos, [0, h * w, dModel]);
}
