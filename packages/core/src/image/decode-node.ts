// Node-only: reads files and decodes with sharp. Reached only through platform/node.ts, so browser
// bundles never see fs or sharp.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Sharp, SharpOptions } from 'sharp';
import { VitkitError } from '../errors/vitkit-error.js';
import {
  checkPixelLimit,
  dataUrlBytes,
  describeSource,
  fetchImageBytes,
  type ImageSource,
  type ResolvedLoadOptions,
} from './image-source.js';
import { toRgb } from './pixel-convert.js';
import type { RgbImage } from './rgb-image.js';

type SharpFactory = (input?: Uint8Array, options?: SharpOptions) => Sharp;
let sharpFactory: Promise<SharpFactory> | undefined;

/** sharp is an optional peer dependency: load it on first use and say how to get it when missing. */
async function loadSharp(): Promise<SharpFactory> {
  sharpFactory ??= import('sharp').then(
    (m) => (m.default ?? m) as unknown as SharpFactory,
    (cause) => {
      sharpFactory = undefined;
      throw new VitkitError('BACKEND_PACKAGE_MISSING', 'Decoding images in Node needs the "sharp" package: npm install sharp', { cause });
    },
  );
  return sharpFactory;
}

/** Encoded bytes behind a path, file/http(s)/data URL or Blob. */
export async function readImageBytes(
  source: Exclude<ImageSource, RgbImage | { data: unknown }>,
  options: ResolvedLoadOptions,
): Promise<Uint8Array> {
  if (source instanceof Uint8Array) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (typeof Blob !== 'undefined' && source instanceof Blob) return new Uint8Array(await source.arrayBuffer());
  const text = source instanceof URL ? source.href : (source as string);
  if (typeof text !== 'string')
    throw new VitkitError('IMAGE_SOURCE_INVALID', 'Unsupported image source: pass a path, URL, bytes, Blob or pixel data.');
  if (/^data:/i.test(text)) return dataUrlBytes(text);
  if (/^https?:\/\//i.test(text)) return fetchImageBytes(text, `image ${text}`, options);
  const path = /^file:/i.test(text) ? filePath(text) : text;
  try {
    return await readFile(path);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new VitkitError('FILE_NOT_FOUND', `Image file ${path} does not exist.`, { cause });
    throw new VitkitError('IMAGE_SOURCE_INVALID', `Could not read image file ${path}: ${(cause as Error).message}`, { cause });
  }
}

/** A file: URL's path; a URL naming another host, or otherwise not a local path, is refused. */
function filePath(url: string): string {
  try {
    return fileURLToPath(url);
  } catch (cause) {
    throw new VitkitError(
      'IMAGE_SOURCE_INVALID',
      `${url} is not a local file URL (${(cause as Error).message}); use file:///absolute/path or a plain path.`,
      { cause },
    );
  }
}

/**
 * Decodes to RGB the way PIL + `load_image` does: EXIF orientation applied, embedded ICC profiles
 * ignored (PIL does not colour-manage), palette expanded, gray replicated, alpha dropped. The pixel limit is checked on sharp's header-only metadata first.
 */
export async function decodeImageSource(source: ImageSource, options: ResolvedLoadOptions): Promise<RgbImage> {
  const what = `Image ${describeSource(source)}`;
  const bytes = await readImageBytes(source as Exclude<ImageSource, RgbImage | { data: unknown }>, options);
  if (bytes.length === 0) throw new VitkitError('IMAGE_EMPTY', `${what} is empty (0 bytes).`);
  const sharp = await loadSharp();
  // Our own limit is checked below; sharp's would otherwise reject first with a less useful message.
  const base: SharpOptions = { limitInputPixels: false, ignoreIcc: true, failOn: 'error' };
  let width: number | undefined;
  let height: number | undefined;
  try {
    ({ width, height } = await sharp(bytes, base).metadata());
  } catch (cause) {
    throw new VitkitError('IMAGE_UNDECODABLE', `${what} is not a decodable image: ${(cause as Error).message}`, { cause });
  }
  checkPixelLimit(width ?? 0, height ?? 0, options.maxPixels, what);
  let decoded: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    decoded = await sharp(bytes, { ...base, autoOrient: true })
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (cause) {
    throw new VitkitError('IMAGE_UNDECODABLE', `${what} could not be decoded: ${(cause as Error).message}`, { cause });
  }
  const { data, info } = decoded;
  const pixels = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return toRgb(pixels, info.width, info.height, info.channels);
}
