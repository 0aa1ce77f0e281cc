import { RgbImage, type Tensor } from '@vitkit/core';

/**
 * The model's view of an image: pixel_values[b] ([3, H, W], normalised) mapped back to 8-bit RGB,
 * so overlays line up with what the model saw after resize and crop.
 */
export function pixelValuesToRgb(pixelValues: Tensor, index: number, mean: readonly number[], std: readonly number[]): RgbImage {
  const [, , h, w] = pixelValues.shape;
  const src = pixelValues.data as Float32Array;
  const plane = h * w;
  const out = new Uint8Array(plane * 3);
  for (let c = 0; c < 3; c++) {
    const base = (index * 3 + c) * plane;
    for (let i = 0; i < plane; i++) out[i * 3 + c] = clamp255((src[base + i] * std[c] + mean[c]) * 255);
  }
  return new RgbImage(out, w, h);
}

/** Maps values into [0, 1] by their minimum and maximum (a constant input maps to 0). */
export function minMaxScale(values: Iterable<number>): (v: number) => number {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const span = hi - lo || 1;
  return (v) => (v - lo) / span;
}

/**
 * Blends an attention map (gridH × gridW, any scale) over an image as a heat map: bilinear upsampling
 * to the image, min-max normalisation, a black→red→yellow→white ramp, 55 % opacity — DINO's figure.
 */
export function renderHeatmapOverlay(image: RgbImage, map: Float32Array, gridH: number, gridW: number): RgbImage {
  const unit = minMaxScale(map);
  const { width, height } = image;
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const gy = Math.min(Math.max(((y + 0.5) * gridH) / height - 0.5, 0), gridH - 1);
    const y0 = Math.floor(gy);
    const y1 = Math.min(y0 + 1, gridH - 1);
    const fy = gy - y0;
    for (let x = 0; x < width; x++) {
      const gx = Math.min(Math.max(((x + 0.5) * gridW) / width - 0.5, 0), gridW - 1);
      const x0 = Math.floor(gx);
      const x1 = Math.min(x0 + 1, gridW - 1);
      const fx = gx - x0;
      const v =
        (map[y0 * gridW + x0] * (1 - fx) + map[y0 * gridW + x1] * fx) * (1 - fy) +
        (map[y1 * gridW + x0] * (1 - fx) + map[y1 * gridW + x1] * fx) * fy;
      const t = unit(v);
      const heat = [clamp255(t * 3 * 255), clamp255((t * 3 - 1) * 255), clamp255((t * 3 - 2) * 255)];
      const i = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) out[i + c] = clamp255(image.data[i + c] * 0.45 + heat[c] * 0.55);
    }
  }
  return new RgbImage(out, width, height);
}

/** Nearest-neighbour upscaling (each patch becomes a block of pixels), for PCA pictures. */
export function upscaleNearest(image: RgbImage, factor: number): RgbImage {
  const w = image.width * factor;
  const h = image.height * factor;
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const s = (Math.floor(y / factor) * image.width + Math.floor(x / factor)) * 3;
      const d = (y * w + x) * 3;
      out[d] = image.data[s];
      out[d + 1] = image.data[s + 1];
      out[d + 2] = image.data[s + 2];
    }
  }
  return new RgbImage(out, w, h);
}

function clamp255(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
}
