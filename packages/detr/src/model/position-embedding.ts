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
 * The same embedding in the graph, for a runtime mask `[B, h, w]` (float 0/1) of any size:
 * `[B, h * w, d_model]`. The running counts are CumSums (exact for 0/1 counts).
 */
export function sinePositionEmbeddingGraph(g: GraphBuilder, mask: Value, dModel: number): Value {
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
  const pos = ops.add(
    g,
    ops.mul(g, ops.sin(g, phase), g.constant(new Tensor('float32', even, [dModel]), 'sin_features')),
    ops.mul(g, ops.cos(g, phase), g.constant(new Tensor('float32', odd, [dModel]), 'cos_features')),
  );
  return ops.reshape(g, pos, [0, -1, dModel]);
}
