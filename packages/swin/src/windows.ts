import { Tensor, toFloat32Array, VitkitError } from '@vitkit/core/internal';

// Swin's window bookkeeping, done once in TypeScript while the graph is built: where each token of
// each (shifted, padded) window comes from, the relative-position bias per head and the mask that
// keeps shifted windows from mixing regions that were not neighbours before the cyclic shift.

/** Score added between tokens of different shifted regions (transformers' `get_attn_mask`). */
export const SHIFT_MASK_VALUE = -100;

/** How one block partitions an H × W token grid. */
export interface WindowLayout {
  height: number;
  width: number;
  /** Window side: config.window_size (grids smaller than it are refused, see `windowLayout`). */
  window: number;
  /** Cyclic shift; 0 for even blocks and whenever the window covers the grid's smaller side. */
  shift: number;
  /** Grid padded (bottom, right) to whole windows. */
  padHeight: number;
  padWidth: number;
  /** Windows per image. */
  count: number;
}

/**
 * transformers 4.49 `SwinLayer.set_shift_and_window_size` + `maybe_pad`: when the grid's smaller
 * side is at most the window, the shift is 0 (transformers would also shrink the window to that
 * side, but its learned bias table is for the full window, so a smaller grid is refused here, as
 * transformers itself fails on it); then the grid is padded to whole windows.
 */
export function windowLayout(height: number, width: number, configWindow: number, shifted: boolean): WindowLayout {
  let window = configWindow;
  let shift = shifted ? Math.floor(configWindow / 2) : 0;
  if (Math.min(height, width) <= configWindow) {
    window = Math.min(height, width);
    shift = 0;
  }
  if (window < configWindow) {
    // The learned bias table is for configWindow; transformers 4.49 fails on this input too.
    throw new VitkitError(
      'INPUT_SHAPE_INVALID',
      `A ${height}x${width} token grid is smaller than the ${configWindow}x${configWindow} attention window; use a larger input (each stage needs at least window_size tokens per side).`,
    );
  }
  return paddedWindows(height, width, window, shift);
}

/** An H × W grid padded (bottom, right) to whole windows of side `window`, cyclically shifted by `shift`. */
export function paddedWindows(height: number, width: number, window: number, shift: number): WindowLayout {
  const padHeight = Math.ceil(height / window) * window;
  const padWidth = Math.ceil(width / window) * window;
  return { height, width, window, shift, padHeight, padWidth, count: (padHeight / window) * (padWidth / window) };
}

/**
 * For each token of the windowed layout [windows, window², C] (flattened), the index of its source
 * token in the H·W grid, or H·W for padding (a zero token appended after the grid). One Gather does
 * the padding, the cyclic shift (torch.roll by -shift) and the window partition.
 */
export function windowGatherIndex(l: WindowLayout): number[] {
  const { height, width, window: ws, shift, padHeight, padWidth } = l;
  const perRow = padWidth / ws;
  const index = new Array<number>(padHeight * padWidth);
  for (let si = 0; si < padHeight; si++) {
    for (let sj = 0; sj < padWidth; sj++) {
      const pi = (si + shift) % padHeight;
      const pj = (sj + shift) % padWidth;
      const target = windowedPosition(si, sj, ws, perRow);
      index[target] = pi < height && pj < width ? pi * width + pj : height * width;
    }
  }
  return index;
}

/**
 * The inverse: for each token of the H·W grid, where it sits in the windowed layout. One Gather
 * does window_reverse, the reverse shift and the crop of the padding.
 */
export function windowScatterIndex(l: WindowLayout): number[] {
  const { height, width, window: ws, shift, padHeight, padWidth } = l;
  const perRow = padWidth / ws;
  const index = new Array<number>(height * width);
  for (let i = 0; i < height; i++) {
    for (let j = 0; j < width; j++) {
      const si = (i - shift + padHeight) % padHeight;
      const sj = (j - shift + padWidth) % padWidth;
      index[i * width + j] = windowedPosition(si, sj, ws, perRow);
    }
  }
  return index;
}

function windowedPosition(si: number, sj: number, ws: number, perRow: number): number {
  const window = Math.floor(si / ws) * perRow + Math.floor(sj / ws);
  return window * ws * ws + (si % ws) * ws + (sj % ws);
}

/** `SwinSelfAttention.relative_position_index`: [ws², ws²] indices into the (2ws-1)² table. */
export function relativePositionIndex(ws: number): Int32Array {
  const n = ws * ws;
  const index = new Int32Array(n * n);
  for (let p = 0; p < n; p++) {
    for (let q = 0; q < n; q++) {
      const dr = Math.floor(p / ws) - Math.floor(q / ws) + ws - 1;
      const dc = (p % ws) - (q % ws) + ws - 1;
      index[p * n + q] = dr * (2 * ws - 1) + dc;
    }
  }
  return index;
}

/** `get_attn_mask`: [windows, ws², ws²] of 0 (same region) or `value` (regions split by the shift). */
export function shiftMask(l: WindowLayout, value = SHIFT_MASK_VALUE): Float32Array {
  const { window: ws, shift, padHeight, padWidth } = l;
  const region = (i: number, size: number) => (i < size - ws ? 0 : i < size - shift ? 1 : 2);
  const perRow = padWidth / ws;
  const n = ws * ws;
  const labels = new Int32Array(l.count * n);
  for (let i = 0; i < padHeight; i++) {
    for (let j = 0; j < padWidth; j++) labels[windowedPosition(i, j, ws, perRow)] = region(i, padHeight) * 3 + region(j, padWidth);
  }
  const mask = new Float32Array(l.count * n * n);
  for (let w = 0; w < l.count; w++) {
    for (let p = 0; p < n; p++) {
      for (let q = 0; q < n; q++) if (labels[w * n + p] !== labels[w * n + q]) mask[(w * n + p) * n + q] = value;
    }
  }
  return mask;
}

/**
 * The whole additive bias of one block's window attention: the relative-position bias gathered
 * from `table` [(2ws-1)², heads] → [heads, ws², ws²], plus, for shifted blocks, the region mask
 * (`maskValue` between regions): [1, heads, ws², ws²] unshifted, [windows, heads, ws², ws²] shifted.
 */
export function windowAttentionBias(table: Tensor, heads: number, l: WindowLayout, maskValue = SHIFT_MASK_VALUE): Tensor<'float32'> {
  const ws = l.window;
  const n = ws * ws;
  const entries = (2 * ws - 1) ** 2;
  if (table.rank !== 2 || table.shape[0] !== entries || table.shape[1] !== heads) {
    throw new VitkitError(
      'WEIGHTS_SHAPE_MISMATCH',
      `relative_position_bias_table has shape [${table.shape.join(', ')}] but window_size ${ws} and ${heads} heads imply [${entries}, ${heads}].`,
    );
  }
  const t = toFloat32Array(table);
  const index = relativePositionIndex(ws);
  const relative = new Float32Array(heads * n * n);
  for (let h = 0; h < heads; h++) for (let pq = 0; pq < n * n; pq++) relative[h * n * n + pq] = t[index[pq] * heads + h];
  if (l.shift === 0) return new Tensor('float32', relative, [1, heads, n, n]);
  const mask = shiftMask(l, maskValue);
  const out = new Float32Array(l.count * heads * n * n);
  for (let w = 0; w < l.count; w++) {
    for (let h = 0; h < heads; h++) {
      const o = (w * heads + h) * n * n;
      for (let pq = 0; pq < n * n; pq++) out[o + pq] = relative[h * n * n + pq] + mask[w * n * n + pq];
    }
  }
  return new Tensor('float32', out, [l.count, heads, n, n]);
}

/**
 * `SwinPatchMerging` as one gather: for each merged token (row-major over ⌈H/2⌉ × ⌈W/2⌉) the four
 * source tokens in transformers' concat order x0 (0,0), x1 (1,0), x2 (0,1), x3 (1,1); H·W (the
 * appended zero token) where the odd side was padded.
 */
export function mergeGatherIndex(height: number, width: number): number[] {
  const h2 = Math.ceil(height / 2);
  const w2 = Math.ceil(width / 2);
  const index: number[] = [];
  for (let i = 0; i < h2; i++) {
    for (let j = 0; j < w2; j++) {
      for (const [di, dj] of [
        [0, 0],
        [1, 0],
        [0, 1],
        [1, 1],
      ]) {
        const r = 2 * i + di;
        const c = 2 * j + dj;
        index.push(r < height && c < width ? r * width + c : height * width);
      }
    }
  }
  return index;
}
