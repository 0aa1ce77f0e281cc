import { RgbImage } from '../image/rgb-image.js';

/**
 * transformers' `center_crop`: the window starts at floor((side - crop) / 2); along a side shorter
 * than the crop the image is instead placed at ceil((crop - side) / 2) on a zero background.
 */
export function centerCropRgb(image: RgbImage, cropHeight: number, cropWidth: number): RgbImage {
  const { width, height } = image;
  if (width >= cropWidth && height >= cropHeight) {
    return image.crop(Math.floor((width - cropWidth) / 2), Math.floor((height - cropHeight) / 2), cropWidth, cropHeight);
  }
  const out = new Uint8Array(cropWidth * cropHeight * 3);
  const [srcX, dstX, spanX] = axisPlacement(width, cropWidth);
  const [srcY, dstY, spanY] = axisPlacement(height, cropHeight);
  for (let y = 0; y < spanY; y++) {
    const from = ((srcY + y) * width + srcX) * 3;
    out.set(image.data.subarray(from, from + spanX * 3), ((dstY + y) * cropWidth + dstX) * 3);
  }
  return new RgbImage(out, cropWidth, cropHeight);
}

/** [source start, destination start, length] of the copied span along one axis. */
function axisPlacement(side: number, crop: number): [number, number, number] {
  return side >= crop ? [Math.floor((side - crop) / 2), 0, crop] : [0, Math.ceil((crop - side) / 2), side];
}

export interface RescaleNormalize {
  /** Multiply by this (HF: in float64, then cast to float32); undefined skips rescaling. */
  rescaleFactor?: number;
  /** Per-channel mean and std (HF: float32 `(x - mean) / std`); undefined skips normalising. */
  mean?: readonly number[];
  std?: readonly number[];
}

/**
 * Writes one HWC uint8 image as CHW float32 into `out` (a [3, outHeight, outWidth] plane set at
 * `offset`), top-left aligned; pixels outside the image are left as they are (zero padding).
 * The arithmetic mirrors numpy's in transformers' `rescale` and `normalize`: u8 -> f64 * factor ->
 * f32, then f32 subtract and divide. Math.fround after each step reproduces float32 results exactly,
 * because float64 evaluation of one float32 +, -, *, / rounds to the same value.
 */
export function writeChwFloat32(
  image: RgbImage,
  out: Float32Array,
  offset: number,
  outHeight: number,
  outWidth: number,
  ops: RescaleNormalize,
): void {
  const { width, height, data } = image;
  const plane = outHeight * outWidth;
  // One lookup table per channel: a uint8 input has only 256 possible results.
  const tables = [0, 1, 2].map((c) => {
    const table = new Float32Array(256);
    const mean = ops.mean ? Math.fround(ops.mean[c]) : 0;
    const std = ops.std ? Math.fround(ops.std[c]) : 1;
    for (let v = 0; v < 256; v++) {
      let x = ops.rescaleFactor !== undefined ? Math.fround(v * ops.rescaleFactor) : v;
      if (ops.mean) x = Math.fround(Math.fround(x - mean) / std);
      table[v] = x;
    }
    return table;
  });
  const [t0, t1, t2] = tables;
  for (let y = 0; y < height; y++) {
    let p = y * width * 3;
    let o = offset + y * outWidth;
    for (let x = 0; x < width; x++, p += 3, o++) {
      out[o] = t0[data[p]];
      out[o + plane] = t1[data[p + 1]];
      out[o + 2 * plane] = t2[data[p + 2]];
    }
  }
}

/**
 * An RGB image as three float32 planes, rescaled as torch does for a uint8 tensor times a Python
 * float (float32 product of the value and the float32 factor); unscaled values when no factor.
 */
export function rgbToFloatPlanes(image: RgbImage, rescaleFactor?: number): Float32Array[] {
  const { width, height, data } = image;
  const factor = rescaleFactor === undefined ? 1 : Math.fround(rescaleFactor);
  const table = Float32Array.from({ length: 256 }, (_, v) => v * factor);
  const planes = [0, 1, 2].map(() => new Float32Array(width * height));
  for (let i = 0, p = 0; i < width * height; i++, p += 3) {
    planes[0][i] = table[data[p]];
    planes[1][i] = table[data[p + 1]];
    planes[2][i] = table[data[p + 2]];
  }
  return planes;
}

/** Copies float planes into `out` at `offset` ([3, H, W]), normalised as torchvision's float32 `(x - mean) / std` when given. */
export function writeFloatPlanes(
  planes: readonly Float32Array[],
  out: Float32Array,
  offset: number,
  mean?: readonly number[],
  std?: readonly number[],
): void {
  planes.forEach((plane, c) => {
    const base = offset + c * plane.length;
    if (!mean || !std) {
      out.set(plane, base);
      return;
    }
    const m = Math.fround(mean[c]);
    const s = Math.fround(std[c]);
    for (let i = 0; i < plane.length; i++) out[base + i] = Math.fround(plane[i] - m) / s;
  });
}
