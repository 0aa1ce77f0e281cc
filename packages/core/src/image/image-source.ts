import { isVitkitError, VitkitError } from '../errors/vitkit-error.js';
import { IdleDeadline, readBodyWithin } from '../hub/hub-fetch.js';
import { RgbImage } from './rgb-image.js';

/** Pillow's default `Image.MAX_IMAGE_PIXELS` (1024 * 1024 * 1024 // 4 // 3): its decompression-bomb limit. */
export const DEFAULT_MAX_IMAGE_PIXELS = 89_478_485;

/** How long an image URL may send nothing (before the headers or between chunks): the Hub's download default. */
export const DEFAULT_IMAGE_FETCH_TIMEOUT_MS = 10_000;

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
  /**
   * For http(s) URLs: milliseconds the server may send nothing, before the headers or between
   * chunks, before loading fails with IMAGE_FETCH_TIMEOUT. Default 10 s.
   */
  fetchTimeoutMs?: number;
}

export interface ResolvedLoadOptions {
  maxPixels: number;
  fetchTimeoutMs: number;
}

export function resolveLoadOptions(options: LoadImageOptions = {}): ResolvedLoadOptions {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_IMAGE_PIXELS;
  if (!(maxPixels > 0)) {
    throw new VitkitError('INVALID_ARGUMENT', `maxPixels must be a positive number (use Infinity for no limit), got ${maxPixels}.`);
  }
  const fetchTimeoutMs = options.fetchTimeoutMs ?? DEFAULT_IMAGE_FETCH_TIMEOUT_MS;
  if (!(fetchTimeoutMs > 0)) {
    throw new VitkitError('INVALID_ARGUMENT', `fetchTimeoutMs must be a positive number of milliseconds, got ${fetchTimeoutMs}.`);
  }
  return { maxPixels, fetchTimeoutMs };
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

/**
 * Decodes a `data:` URL's payload as the Fetch standard's data: URL processor does: base64
 * (forgiving: whitespace ignored, padding optional) when the type ends in `;base64`, else the
 * percent-decoded bytes (an escape that is not two hex digits stays as it is).
 */
export function dataUrlBytes(url: string): Uint8Array {
  const comma = url.indexOf(',');
  if (!/^data:/i.test(url) || comma < 0) {
    throw new VitkitError('IMAGE_SOURCE_INVALID', 'A data URL must look like data:<type>[;base64],<payload>.');
  }
  const meta = url.slice(5, comma);
  const payload = percentDecode(url.slice(comma + 1));
  if (!/;\s*base64\s*$/i.test(meta)) return payload;
  let binary: string;
  try {
    // Any byte outside ASCII is outside the base64 alphabet, however this decoder maps it.
    binary = atob(new TextDecoder('latin1').decode(payload).replace(/[\t\n\f\r ]+/g, ''));
  } catch (cause) {
    throw new VitkitError('IMAGE_SOURCE_INVALID', 'The data URL says ;base64 but its payload is not valid base64.', { cause });
  }
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** The URL standard's percent-decode: bytes, with malformed escapes kept literally (no URIError). */
function percentDecode(text: string): Uint8Array {
  const bytes = new TextEncoder().encode(text);
  const out = new Uint8Array(bytes.length);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const hi = hexValue(bytes[i + 1]);
    const lo = hexValue(bytes[i + 2]);
    if (bytes[i] === 0x25 && hi >= 0 && lo >= 0) {
      out[n++] = hi * 16 + lo;
      i += 2;
    } else {
      out[n++] = bytes[i];
    }
  }
  return out.subarray(0, n);
}

function hexValue(byte: number | undefined): number {
  if (byte === undefined) return -1;
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  const lower = byte | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

/**
 * GETs an image URL with the Hub's stall rule (`fetchTimeoutMs` of silence ends it): every way it
 * can fail (no connection, an HTTP error, a body cut short of its Content-Length, silence) is a
 * VitkitError.
 */
export async function fetchImageBytes(url: string, what: string, options: ResolvedLoadOptions): Promise<Uint8Array> {
  const deadline = new IdleDeadline(options.fetchTimeoutMs);
  try {
    let response: Response;
    try {
      response = await fetch(url, { signal: deadline.signal });
    } catch (cause) {
      if (deadline.fired) throw cause;
      throw new VitkitError('IMAGE_SOURCE_INVALID', `Could not fetch ${what}: ${describeCause(cause)}`, { cause });
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => {});
      throw new VitkitError('IMAGE_SOURCE_INVALID', `Fetching ${what} failed with HTTP ${response.status}.`);
    }
    try {
      return await readBodyWithin(response, deadline);
    } catch (cause) {
      if (deadline.fired) throw cause;
      const length = response.headers.get('content-length');
      throw new VitkitError(
        'IMAGE_SOURCE_INVALID',
        `${what} stopped part-way${length ? ` (of ${length} announced bytes)` : ''}: ${describeCause(cause)}. Check the URL and the connection.`,
        { cause },
      );
    }
  } catch (error) {
    if (deadline.fired && !isVitkitError(error)) {
      throw new VitkitError(
        'IMAGE_FETCH_TIMEOUT',
        `${what} sent nothing for ${options.fetchTimeoutMs / 1000} s. Check the URL and the connection, or raise fetchTimeoutMs.`,
        { cause: error },
      );
    }
    throw error;
  } finally {
    deadline.stop();
  }
}

function describeCause(cause: unknown): string {
  const error = cause as { message?: string; cause?: { message?: string } } | undefined;
  return [error?.message, error?.cause?.message].filter(Boolean).join(': ') || String(cause);
}

export function describeSource(source: ImageSource): string {
  if (typeof source === 'string') return source.startsWith('data:') ? 'data URL' : `"${source}"`;
  if (source instanceof URL) return source.protocol === 'data:' ? 'data URL' : `"${source.href}"`;
  return 'image bytes';
}
