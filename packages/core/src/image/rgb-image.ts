import { VitkitError } from '../errors/vitkit-error.js';

/**
 * A decoded 8-bit RGB image: `data` is row-major HWC (`[r, g, b, r, g, b, ...]`), exactly what
 * `np.asarray(pil_image.convert("RGB"))` holds in Python.
 */
export class RgbImage {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly channels = 3 as const;

  constructor(data: Uint8Array, width: number, height: number) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0) {
      throw new VitkitError('IMAGE_SOURCE_INVALID', `Image size ${width}x${height} must be two non-negative integers.`);
    }
    if (width === 0 || height === 0) {
      throw new VitkitError('IMAGE_ZERO_SIZE', `Image is ${width}x${height}: an image needs at least one pixel.`);
    }
    if (data.length !== width * height * 3) {
      throw new VitkitError(
        'IMAGE_SOURCE_INVALID',
        `An RGB image of ${width}x${height} needs ${width * height * 3} bytes, but ${data.length} were given.`,
      );
    }
    this.data = data;
    this.width = width;
    this.height = height;
  }

  /** Pixel (r, g, b) at column x, row y. */
  pixel(x: number, y: number): [number, number, number] {
    const i = (y * this.width + x) * 3;
    return [this.data[i], this.data[i + 1], this.data[i + 2]];
  }

  /** The window [left, left+width) x [top, top+height), which must lie inside the image. */
  crop(left: number, top: number, width: number, height: number): RgbImage {
    if (left < 0 || top < 0 || left + width > this.width || top + height > this.height) {
      throw new VitkitError(
        'INVALID_ARGUMENT',
        `Crop ${width}x${height}+${left}+${top} falls outside the ${this.width}x${this.height} image.`,
      );
    }
    const out = new Uint8Array(width * height * 3);
    for (let y = 0; y < height; y++) {
      const from = ((top + y) * this.width + left) * 3;
      out.set(this.data.subarray(from, from + width * 3), y * width * 3);
    }
    return new RgbImage(out, width, height);
  }
}
