// Browser-only decoding: reached through platform/browser.ts. No Node built-ins here.
import { VitkitError } from '../errors/vitkit-error.js';
import { readImageHeaderSize } from './image-header.js';
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

async function readBrowserBytes(source: ImageSource, what: string, options: ResolvedLoadOptions): Promise<Uint8Array> {
  if (source instanceof Uint8Array) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (source instanceof Blob) return new Uint8Array(await source.arrayBuffer());
  const text = source instanceof URL ? source.href : source;
  if (typeof text !== 'string')
    throw new VitkitError('IMAGE_SOURCE_INVALID', 'Unsupported image source: pass a URL, bytes, Blob or pixel data.');
  if (/^data:/i.test(text)) return dataUrlBytes(text);
  // Relative paths resolve against the page, as an <img src> would.
  return fetchImageBytes(text, what, options);
}

/**
 * Reads straight (non-premultiplied) RGBA from a bitmap. WebGL keeps the bytes exactly as decoded
 * when UNPACK_PREMULTIPLY_ALPHA is off; a 2D canvas stores premultiplied colour, which loses the RGB
 * of translucent pixels, so it is only the fallback where WebGL is unavailable.
 */
function readBitmapRgba(bitmap: ImageBitmap): Uint8Array {
  const { width, height } = bitmap;
  const canvas = new OffscreenCanvas(width, height);
  const gl = canvas.getContext('webgl2', {
    premultipliedAlpha: false,
    antialias: false,
    preserveDrawingBuffer: true,
  }) as WebGL2RenderingContext | null;
  if (gl) {
    const texture = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_2D, texture);
    gl.pixelStorei(gl.UNPACK_PREMULTIPLY_ALPHA_WEBGL, false);
    gl.pixelStorei(gl.UNPACK_COLORSPACE_CONVERSION_WEBGL, gl.NONE);
    gl.pixelStorei(gl.UNPACK_FLIP_Y_WEBGL, false);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, width, height, 0, gl.RGBA, gl.UNSIGNED_BYTE, bitmap);
    const framebuffer = gl.createFramebuffer();
    gl.bindFramebuffer(gl.FRAMEBUFFER, framebuffer);
    gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, texture, 0);
    if (gl.checkFramebufferStatus(gl.FRAMEBUFFER) === gl.FRAMEBUFFER_COMPLETE) {
      const out = new Uint8Array(width * height * 4);
      gl.readPixels(0, 0, width, height, gl.RGBA, gl.UNSIGNED_BYTE, out);
      gl.deleteFramebuffer(framebuffer);
      gl.deleteTexture(texture);
      if (gl.getError() === gl.NO_ERROR) return out;
    }
  }
  const ctx = new OffscreenCanvas(width, height).getContext('2d', { willReadFrequently: true });
  if (!ctx)
    throw new VitkitError('IMAGE_UNDECODABLE', 'This browser offers neither WebGL2 nor a 2D OffscreenCanvas to read decoded pixels.');
  ctx.drawImage(bitmap, 0, 0);
  const data = ctx.getImageData(0, 0, width, height, { colorSpace: 'srgb' }).data;
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Browser counterpart of the Node decoder: same `RgbImage` result for the same file. */
export async function decodeImageSource(source: ImageSource, options: ResolvedLoadOptions): Promise<RgbImage> {
  const what = `Image ${describeSource(source)}`;
  const bytes = await readBrowserBytes(source, what, options);
  if (bytes.length === 0) throw new VitkitError('IMAGE_EMPTY', `${what} is empty (0 bytes).`);
  const header = readImageHeaderSize(bytes);
  if (header) checkPixelLimit(header.width, header.height, options.maxPixels, what);
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(new Blob([bytes as Uint8Array<ArrayBuffer>]), {
      colorSpaceConversion: 'none',
      premultiplyAlpha: 'none',
      imageOrientation: 'from-image',
    });
  } catch (cause) {
    throw new VitkitError('IMAGE_UNDECODABLE', `${what} is not a decodable image: ${(cause as Error).message}`, { cause });
  }
  try {
    if (!header) checkPixelLimit(bitmap.width, bitmap.height, options.maxPixels, what);
    const rgba = readBitmapRgba(bitmap);
    return toRgb(rgba, bitmap.width, bitmap.height, 4);
  } finally {
    bitmap.close();
  }
}
