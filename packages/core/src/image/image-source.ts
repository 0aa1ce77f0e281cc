import { VitkitError } from '../errors/vitkit-error.js';
import { RgbImage } from './rgb-image.js';

/** Pillow's default `Image.MAX_IMAGE_PIXELS` (1024 * 1024 * 1024 // 4 // 3): its decompression-bomb limit. */
export const DEFAULT_MAX_IMAGE_PIXELS = 89_478_485;

/** Already-decoded pixels, as `ImageData` (RGBA) or any `{ data, width, height }` with 1 to 4 channels. */
export interface PixelData {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  /** Inferred from `data.length / (width * height)` when absent. */
  channels?: number;
}

/**
 * Everything `loadImage` accepts: a file path (Node), an http(s)/file/data URL (string or URL),
 * encoded bytes (`Uint8Array`, `Buffer`, `ArrayBuffer`, `Blob`), decoded pixels or an `RgbImage`.
 */
export type ImageSource = string | URL | Uint8Array | ArrayBuffer | Blob | PixelData | RgbImage;

export interface LoadImageOptions {
  /** Refuse images with more pixels than this, checked from the header before decoding. Default: Pillow's 89,478,485. */
  maxPixels?: number;
}

export interface ResolvedLoadOptions {
  maxPixels: number;
}

export function resolveLoadOptions(options: LoadImageOptions = {}): ResolvedLoadOptions {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_IMAGE_PIXELS;
  if (!(maxPixels > 0)) {
    throw new VitkitError('INVALID_ARGUMENT', `maxPixels must be a positive number (use Infinity for no limit), got ${maxPixels}.`);
  }
  return { maxPixels };
}

export function isPixelData(source: unknown): source is PixelData {
  if (source === null || typeof source !== 'object' || source instanceof RgbImage) return false;
  const s = source as Partial<PixelData>;
  return (
    (s.data instanceof Uint8Array || s.data instanceof Uint8ClampedArray) && typeof s.width === 'number' && typeof s.height === 'number'
  );
}

/** Fails with IMAGE_TOO_LARGE when width*height exceeds the limit; called before any pixel is decoded. */
export function checkPixelLimit(width: number, height: number, maxPixels: number, what: string): void {
  if (width === 0 || height === 0) {
    throw new VitkitError('IMAGE_ZERO_SIZE', `${what} is ${width}x${height}: an image needs at least one pixel.`);
  }
  if (width * height > maxPixels) {
    throw new VitkitError(
      'IMAGE_TOO_LARGE',
      `${what} is ${width}x${height} = ${width * height} pixels, over the limit of ${maxPixels}; pass a larger maxPixels if you trust this file.`,
    );
  }
}

/** Decodes a `data:` URL's payload (base64 or percent-encoded). */
export function dataUrlBytes(url: string): Uint8Array {
  const comma = url.indexOf(',');
  if (!url.startsWith('data:') || comma < 0) {
    throw new VitkitError('IMAGE_SOURCE_INVALID', 'A data URL must look like data:<type>[;base64],<payload>.');
  }
  const meta = url.slice(5, comma);
  const payload = url.slice(comma + 1);
  if (meta.endsWith(';base64')) {
    const binary = atob(payload.replace(/\s+/g, ''));
    const out = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
    return out;
  }
  return new TextEncoder().encode(decodeURIComponent(payload));
}

export function describeSource(source: ImageSource): string {
  if (typeof source === 'string') return source.startsWith('data:') ? 'data URL' : `"${source}"`;
  if (source instanceof URL) return source.protocol === 'data:' ? 'data URL' : `"${source.href}"`;
  return 'image bytes';
}
