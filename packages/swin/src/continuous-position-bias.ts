import { type LinearWeights, Tensor, toFloat32Array } from '@vitkit/core/internal';

// Swin V2's continuous position bias (Liu et al. 2022, §3.3): a small MLP maps each relative
// offset (Δrow, Δcol) inside a window, on a log scale, to one bias per head. The MLP's input is
// fixed by the window, so it is evaluated here, once, while the graph is built; the graph only
// sees the resulting table.

/**
 * `relative_coords_table`: for each offset of a `window` × `window` window, row-major over
 * Δrow, Δcol ∈ [-(window-1), window-1], the pair normalised by `pretrainedWindow - 1` (when the
 * checkpoint was trained at another window, > 0) else by `window - 1`, scaled to [-8, 8], then
 * sign(x)·log2(|x| + 1) / log2(8). float32 steps, as torch computes the buffer.
 */
export function logSpacedRelativeCoords(window: number, pretrainedWindow: number): Float32Array {
  const side = 2 * window - 1;
  const divisor = pretrainedWindow > 0 ? pretrainedWindow - 1 : window > 1 ? window - 1 : 1;
  const f = Math.fround;
  const logSpaced = (d: number) => {
    const x = f(f(f(d) / divisor) * 8);
    return f(f(Math.sign(x) * f(Math.log2(Math.abs(x) + 1))) / 3);
  };
  const coords = new Float32Array(side * side * 2);
  for (let r = 0; r < side; r++) {
    for (let c = 0; c < side; c++) {
      coords[(r * side + c) * 2] = logSpaced(r - (window - 1));
      coords[(r * side + c) * 2 + 1] = logSpaced(c - (window - 1));
    }
  }
  return coords;
}

/** Swin V2 bounds each bias to (0, 16) with 16·sigmoid. */
const BIAS_RANGE = 16;

/**
 * The relative-position bias table [(2·window-1)², heads] of one block: 16·sigmoid of
 * `continuous_position_bias_mlp` (Linear(2 → hidden) → ReLU → Linear(hidden → heads, no bias)) at
 * every log-spaced offset. Sigmoid is elementwise, so applying it before the per-pair lookup
 * (windowAttentionBias) is the same as transformers applying it after.
 */
export function continuousPositionBias(
  mlp: { fc1: LinearWeights; fc2: LinearWeights },
  window: number,
  pretrainedWindow: number,
): Tensor<'float32'> {
  const coords = logSpacedRelativeCoords(window, pretrainedWindow);
  const w1 = toFloat32Array(mlp.fc1.weight);
  const b1 = mlp.fc1.bias ? toFloat32Array(mlp.fc1.bias) : undefined;
  const w2 = toFloat32Array(mlp.fc2.weight);
  const [hidden] = mlp.fc1.weight.shape;
  const [heads] = mlp.fc2.weight.shape;
  const entries = coords.length / 2;
  const table = new Float32Array(entries * heads);
  const h = new Float64Array(hidden);
  for (let e = 0; e < entries; e++) {
    const [dr, dc] = [coords[2 * e], coords[2 * e + 1]];
    for (let j = 0; j < hidden; j++) h[j] = Math.max(0, w1[2 * j] * dr + w1[2 * j + 1] * dc + (b1?.[j] ?? 0));
    for (let k = 0; k < heads; k++) {
      let out = 0;
      for (let j = 0; j < hidden; j++) out += w2[k * hidden + j] * h[j];
      table[e * heads + k] = BIAS_RANGE / (1 + Math.exp(-out));
    }
  }
  return new Tensor('float32', table, [entries, heads]);
}
