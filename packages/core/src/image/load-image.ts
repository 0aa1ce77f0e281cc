import { decodeImageSource } from '#platform';
import { VitkitError } from '../errors/vitkit-error.js';
import { checkPixelLimit, type ImageSource, isPixelData, type LoadImageOptions, resolveLoadOptions } from './image-source.js';
import { toRgb } from './pixel-convert.js';
import { RgbImage } from './rgb-image.js';

/**
 * Any supported image source to an `RgbImage`, identical to transformers' `load_image`
 * (EXIF transpose + `convert("RGB")`) by default. Node decodes with sharp; browsers with
 * `createImageBitmap` (no colour conversion, no premultiplication).
 */
export async function loadImage(source: ImageSource, options?: LoadImageOptions): Promise<RgbImage> {
  const resolved = resolveLoadOptions(options);
  if (source instanceof RgbImage) return source;
  if (isPixelData(source)) {
    const { data, width, height } = source;
    if (width === 0 || height === 0)
      throw new VitkitError('IMAGE_ZERO_SIZE', `Pixel data is ${width}x${height}: an image needs at least one pixel.`);
    checkPixelLimit(width, height, resolved.maxPixels, 'Pixel data');
    const channels = source.channels ?? data.length / (width * height);
    return toRgb(data, width, height, channels);
  }
  if (source === null || source === undefined) throw new VitkitError('IMAGE_SOURCE_INVALID', 'No image given.');
  return decodeImageSource(source, resolved);
}
