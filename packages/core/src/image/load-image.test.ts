import { readFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { isVitkitError, type VitkitErrorCode } from '../errors/vitkit-error.js';
import { readSafetensors } from '../weights/safetensors.js';
import { readImageHeaderSize } from './image-header.js';
import { DEFAULT_MAX_IMAGE_PIXELS } from './image-source.js';
import { loadImage } from './load-image.js';
import { RgbImage } from './rgb-image.js';

const IMAGES = fileURLToPath(new URL('../../../../fixtures/preprocess/images/', import.meta.url));
const CATS_PNG = `${IMAGES}cats.png`;

async function expectCode(promise: Promise<unknown>, code: VitkitErrorCode): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isVitkitError(error, code), `expected ${code}, got ${String(error)}`).toBe(true);
}

function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** A small image whose every pixel differs, so any transposition or channel mix-up shows. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function distinctPixels(width: number, height: number, channels: number): Uint8Array {
  const data = new Uint8Array(width * height * channels);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37 + 11) % 256;
  return data;
}

describe('loadImage decoding', () => {
  it('decodes cats.jpg to the same bytes as PIL (libjpeg-turbo)', async () => {
    // sharp's libvips is built with mozjpeg, a libjpeg-turbo fork: same ISLOW integer IDCT and the
    // same "fancy" (triangle) chroma upsampling PIL gets by default, so the decode is bit-identical.
    const reference = readSafetensors(readFileSync(`${IMAGES}cats.jpg.decoded.safetensors`)).tensors.get('rgb');
    const image = await loadImage(`${IMAGES}cats.jpg`);
    expect(reference?.shape).toEqual([image.height, image.width, 3]);
    let max = 0;
    let sum = 0;
    const ref = reference?.data as Uint8Array;
    for (let i = 0; i < ref.length; i++) {
      const d = Math.abs(image.data[i] - ref[i]);
      max = Math.max(max, d);
      sum += d;
    }
    console.info(`[jpeg decode] cats.jpg sharp vs PIL: max |diff| ${max}, mean |diff| ${sum / ref.length}`);
    expect(max).toBe(0);
  });

  it('replicates gray and drops alpha, as PIL convert("RGB") does', async () => {
    const width = 6;
    const height = 5;
    for (const channels of [1, 2, 4]) {
      const pixels = distinctPixels(width, height, channels);
      if (channels % 2 === 0) pixels[channels - 1] = 0; // one fully transparent pixel keeps its stored colour
      const png = await sharp(pixels, { raw: { width, height, channels: channels as 1 | 2 | 4 } })
        .toColourspace(channels <= 2 ? 'b-w' : 'srgb')
        .png()
        .toBuffer();
      expect((await sharp(png).metadata()).channels).toBe(channels);
      const image = await loadImage(png);
      const expected = new Uint8Array(width * height * 3);
      for (let i = 0; i < width * height; i++) {
        const p = i * channels;
        expected.set(channels <= 2 ? [pixels[p], pixels[p], pixels[p]] : [pixels[p], pixels[p + 1], pixels[p + 2]], i * 3);
      }
      expect(sameBytes(image.data, expected), `${channels}-channel PNG`).toBe(true);
    }
  });

  it('expands palette images to their RGB colours', async () => {
    const width = 8;
    const height = 4;
    const rgb = new Uint8Array(width * height * 3);
    const colours = [
      [255, 0, 0],
      [0, 128, 255],
      [10, 200, 30],
    ];
    for (let i = 0; i < width * height; i++) rgb.set(colours[i % 3], i * 3);
    const png = await sharp(rgb, { raw: { width, height, channels: 3 } })
      .png({ palette: true, colours: 4, dither: 0 })
      .toBuffer();
    expect((await sharp(png).metadata()).isPalette).toBe(true);
    const image = await loadImage(png);
    expect(sameBytes(image.data, rgb)).toBe(true);
  });

  it('applies EXIF orientation (6: rotate 90° clockwise)', async () => {
    const width = 3;
    const height = 2;
    const rgb = distinctPixels(width, height, 3);
    const webp = await sharp(rgb, { raw: { width, height, channels: 3 } })
      .webp({ lossless: true })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const image = await loadImage(webp);
    expect([image.width, image.height]).toEqual([height, width]);
    const source = new RgbImage(rgb, width, height);
    // Clockwise: new (x, y) shows old (y, H - 1 - x).
    for (let y = 0; y < width; y++) for (let x = 0; x < height; x++) expect(image.pixel(x, y)).toEqual(source.pixel(y, height - 1 - x));
  });

  it('accepts paths, file/data/http URLs, bytes, Buffer, ArrayBuffer, Blob, pixel data and RgbImage', async () => {
    const expected = await loadImage(CATS_PNG);
    const bytes = readFileSync(CATS_PNG);
    const server = createServer((_, res) => res.end(bytes));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cats.png`;
      const sources = [
        pathToFileURL(CATS_PNG).href,
        pathToFileURL(CATS_PNG),
        `data:image/png;base64,${bytes.toString('base64')}`,
        url,
        new Uint8Array(bytes),
        bytes,
        bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
        new Blob([new Uint8Array(bytes)]),
      ];
      for (const source of sources)
        expect(sameBytes((await loadImage(source)).data, expected.data), String(source).slice(0, 40)).toBe(true);
    } finally {
      server.close();
    }
    const rgba = new Uint8ClampedArray(expected.width * expected.height * 4);
    for (let i = 0; i < expected.width * expected.height; i++) rgba.set([...expected.data.subarray(i * 3, i * 3 + 3), 7], i * 4);
    expect(sameBytes((await loadImage({ data: rgba, width: expected.width, height: expected.height })).data, expected.data)).toBe(true);
    expect(await loadImage(expected)).toBe(expected);
  });
});

describe('loadImage errors', () => {
  let hugePng: Uint8Array;
  beforeAll(() => {
    // cats.png with its IHDR rewritten to claim 100000 x 100000 pixels, cut off early in the image
    // data: the header is readable, the pixels are not.
    hugePng = new Uint8Array(readFileSync(CATS_PNG).subarray(0, 4096));
    const view = new DataView(hugePng.buffer);
    view.setUint32(16, 100_000);
    view.setUint32(20, 100_000);
    view.setUint32(29, crc32(hugePng.subarray(12, 29)));
  });

  it('refuses undecodable bytes', async () => {
    await expectCode(loadImage(new TextEncoder().encode('definitely not an image')), 'IMAGE_UNDECODABLE');
    // A valid PNG cut in half decodes no further than its header.
    await expectCode(loadImage(readFileSync(CATS_PNG).subarray(0, 2000)), 'IMAGE_UNDECODABLE');
  });

  it('refuses empty input', async () => {
    await expectCode(loadImage(new Uint8Array(0)), 'IMAGE_EMPTY');
    await expectCode(loadImage('data:image/png;base64,'), 'IMAGE_EMPTY');
  });

  it('refuses zero-sized images', async () => {
    await expectCode(loadImage({ data: new Uint8Array(0), width: 0, height: 5 }), 'IMAGE_ZERO_SIZE');
    expect(() => new RgbImage(new Uint8Array(0), 4, 0)).toThrow(/at least one pixel/);
  });

  it('refuses images over the pixel limit from the header, before decoding', async () => {
    expect(readImageHeaderSize(hugePng)).toEqual({ width: 100_000, height: 100_000 });
    // Decoding this file would fail (IMAGE_UNDECODABLE); TOO_LARGE proves the limit was checked first.
    await expectCode(loadImage(hugePng), 'IMAGE_TOO_LARGE');
    await expectCode(loadImage(hugePng, { maxPixels: Number.POSITIVE_INFINITY }), 'IMAGE_UNDECODABLE');
    expect(640 * 480).toBeLessThan(DEFAULT_MAX_IMAGE_PIXELS);
    await expectCode(loadImage(CATS_PNG, { maxPixels: 640 * 480 - 1 }), 'IMAGE_TOO_LARGE');
    expect((await loadImage(CATS_PNG, { maxPixels: 640 * 480 })).width).toBe(640);
  });

  it('reports missing files and unusable sources', async () => {
    await expectCode(loadImage(`${IMAGES}no-such-image.png`), 'FILE_NOT_FOUND');
    await expectCode(loadImage(42 as unknown as string), 'IMAGE_SOURCE_INVALID');
    await expectCode(loadImage({ data: new Uint8Array(7), width: 2, height: 2 }), 'IMAGE_SOURCE_INVALID');
  });
});

describe('loadImage from malformed URLs and misbehaving servers', () => {
  /** A server on 127.0.0.1 answering every request with `handler`; closed (with its open sockets) after `use`. */
  async function withServer(handler: (res: ServerResponse) => void, use: (url: string) => Promise<void>): Promise<void> {
    const server = createServer((_, res) => handler(res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      await use(`http://127.0.0.1:${(server.address() as AddressInfo).port}/image.png`);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  }

  it('malformed data URLs and escapes are IMAGE_SOURCE_INVALID; percent-encoded bytes decode as bytes', async () => {
    for (const url of ['data:image/png;base64,@@@@', 'data:image/png;base64,a', 'data:image/png;base64,%zz', 'data:no-comma']) {
      await expectCode(loadImage(url), 'IMAGE_SOURCE_INVALID');
    }
    // A malformed escape stays literal (as the URL standard says), so this is just undecodable bytes.
    await expectCode(loadImage('data:image/png,%E0%A4%A'), 'IMAGE_UNDECODABLE');
    const png = readFileSync(`${IMAGES}rgba_50x70.png`);
    const escaped = [...png].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
    expect((await loadImage(`data:image/png,${escaped}`)).width).toBe(50);
    expect((await loadImage(`DATA:image/png;BASE64,${png.toString('base64').replace(/(.{60})/g, '$1\n')}`)).width).toBe(50);
  });

  it('file: URLs naming a host, or not a path, are IMAGE_SOURCE_INVALID', async () => {
    await expectCode(loadImage('file://host/x.png'), 'IMAGE_SOURCE_INVALID');
    await expectCode(loadImage(new URL('file://example.com/x.png')), 'IMAGE_SOURCE_INVALID');
    await expectCode(loadImage('file:///tmp/a%2Fb.png'), 'IMAGE_SOURCE_INVALID');
  });

  it('a body shorter than its Content-Length, or an HTTP error, is IMAGE_SOURCE_INVALID', async () => {
    await withServer(
      (res) => {
        res.writeHead(200, { 'content-length': '1000' });
        res.write('short');
        setTimeout(() => res.socket?.destroy(), 20);
      },
      async (url) => expectCode(loadImage(url), 'IMAGE_SOURCE_INVALID'),
    );
    await withServer(
      (res) => {
        res.statusCode = 500;
        res.end();
      },
      async (url) => expectCode(loadImage(url), 'IMAGE_SOURCE_INVALID'),
    );
  });

  it('a server that goes silent ends in IMAGE_FETCH_TIMEOUT after fetchTimeoutMs, before or after the headers', async () => {
    const silent = [() => {}, (res: ServerResponse) => res.writeHead(200, { 'content-length': '10' }).write('abc')];
    for (const handler of silent) {
      await withServer(handler, async (url) => {
        const started = performance.now();
        await expectCode(loadImage(url, { fetchTimeoutMs: 200 }), 'IMAGE_FETCH_TIMEOUT');
        expect(performance.now() - started).toBeLessThan(2_000);
      });
    }
    await expectCode(loadImage('http://127.0.0.1:9/x.png', { fetchTimeoutMs: 0 }), 'INVALID_ARGUMENT');
  });
});

describe('readImageHeaderSize', () => {
  it('reads width and height from PNG, JPEG, WebP, GIF headers', async () => {
    const rgb = distinctPixels(13, 7, 3);
    const input = sharp(rgb, { raw: { width: 13, height: 7, channels: 3 } });
    for (const encoded of [
      await input.clone().png().toBuffer(),
      await input.clone().jpeg().toBuffer(),
      await input.clone().webp().toBuffer(),
      await input.clone().webp({ lossless: true }).toBuffer(),
      await input.clone().gif().toBuffer(),
    ]) {
      expect(readImageHeaderSize(encoded)).toEqual({ width: 13, height: 7 });
    }
    expect(readImageHeaderSize(new Uint8Array([1, 2, 3]))).toBeUndefined();
  });
});
