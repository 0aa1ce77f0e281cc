import { VitkitError } from '../errors/vitkit-error.js';
import { RgbImage } from './rgb-image.js';

/**
 * Interleaved 8-bit pixels with 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA) channels to RGB the
 * way PIL's `convert("RGB")` does: gray is replicated and alpha is dropped, not composited. (The
 * fixtures confirm transformers v4.49's `do_convert_rgb` does the same to an RGBA image.)
 */
export function toRgb(data: Uint8Array | Uint8ClampedArray, width: number, height: number, channels: number): RgbImage {
  const n = width * height;
  if (!Number.isInteger(n) || n <= 0) {
    throw new VitkitError('IMAGE_ZERO_SIZE', `Image is ${width}x${height}: an image needs at least one pixel.`);
  }
  if (!Number.isInteger(channels) || channels < 1 || channels > 4 || data.length !== n * channels) {
    throw new VitkitError(
      'IMAGE_SOURCE_INVALID',
      `Pixel data of ${data.length} bytes does not fit ${width}x${height} with 1 to 4 channels.`,
    );
  }
  if (channels === 3)
    return new RgbImage(data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.length), width, height);
  const out = new Uint8Array(n * 3);
  const gray = channels <= 2;
  for (let i = 0, p = 0, o = 0; i < n; i++, p += channels, o += 3) {
    out[o] = data[p];
    out[o + 1] = gray ? data[p] : data[p + 1];
    out[o + 2] = gray ? data[p] : data[p + 2];
  }
  return new RgbImage(out, width, height);
}
