// Fuzz: image bytes. The fixture images (and small re-encodings of one as JPEG, WebP, GIF, TIFF)
// with bytes flipped, overwritten, cut off or spliced, header sizes rewritten, and random data
// URLs: loadImage ends in an image or a VitkitError, never another exception or a hang, and the
// process stays under a memory bound; readImageHeaderSize (the browser's pre-decode check) never
// throws. CI tries fuzzRuns(2000) inputs per property; `pnpm fuzz` (VITKIT_FUZZ_RUNS) tries more.
import { readFileSync } from 'node:fs';
import { fuzzRuns, rejectionCodeOf } from '@vitkit/test-support';
import fc from 'fast-check';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { readImageHeaderSize } from './image-header.js';
import { loadImage } from './load-image.js';

const IMAGES = new URL('../../../../fixtures/preprocess/images/', import.meta.url).pathname;
/** Decoding is bounded by this many pixels, so a rewritten header cannot make one input take seconds. */
const MAX_PIXELS = 1 << 20;
/** The fork running this file may not grow past this while fuzzing (decodes are at most 4 MB each). */
const RSS_BOUND_MB = 1536;

let seeds: Uint8Array[] = [];
beforeAll(async () => {
  const synthetic = readFileSync(`${IMAGES}synthetic_97x61.png`);
  const small = sharp(synthetic).resize(24, 16);
  seeds = [
    readFileSync(`${IMAGES}gray_64x48.png`),
    readFileSync(`${IMAGES}rgba_50x70.png`),
    synthetic,
    await small.clone().jpeg().toBuffer(),
    await small.clone().jpeg({ progressive: true }).toBuffer(),
    await small.clone().webp().toBuffer(),
    await small.clone().webp({ lossless: true }).toBuffer(),
    await small.clone().gif().toBuffer(),
    await small.clone().tiff().toBuffer(),
    await small.clone().png({ palette: true }).toBuffer(),
  ].map((b) => new Uint8Array(b));
});

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'cut'; at: number }
  | { kind: 'splice'; at: number; bytes: Uint8Array }
  | { kind: 'u32'; at: number; value: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('splice' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 64 }) }),
  // Sizes live in the first bytes of every format's header: rewrite a 32-bit field near the start.
  fc.record({ kind: fc.constant('u32' as const), at: fc.nat({ max: 40 }), value: fc.oneof(fc.nat(), fc.constant(0xffffffff)) }),
);

function mutate(seed: Uint8Array, mutations: Mutation[]): Uint8Array {
  let bytes = new Uint8Array(seed);
  for (const m of mutations) {
    const at = bytes.length === 0 ? 0 : m.at % bytes.length;
    if (m.kind === 'flip' && bytes.length > 0) bytes[at] ^= 1 << m.bit;
    else if (m.kind === 'set' && bytes.length > 0) bytes[at] = m.value;
    else if (m.kind === 'cut') bytes = bytes.subarray(0, at);
    else if (m.kind === 'splice') bytes = new Uint8Array([...bytes.subarray(0, at), ...m.bytes, ...bytes.subarray(at)]);
    else if (m.kind === 'u32' && at + 4 <= bytes.length) new DataView(bytes.buffer, bytes.byteOffset).setUint32(at, m.value);
  }
  return bytes;
}

const imageBytes = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(fc.nat(), fc.array(mutation, { minLength: 1, maxLength: 4 })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 512 }).map((random) => [-1, random] as const) },
);

function bytesOf(input: readonly [number, Mutation[]] | readonly [number, Uint8Array]): Uint8Array {
  const [index, rest] = input;
  return index < 0 ? (rest as Uint8Array) : mutate(seeds[index % seeds.length], rest as Mutation[]);
}

const dataUrl = fc
  .tuple(
    fc.constantFrom('data:image/png;base64,', 'data:image/png,', 'data:;BASE64 ,', 'data:', 'DATA:image/gif;base64,', 'data:,'),
    fc.oneof(fc.string(), fc.base64String(), fc.stringMatching(/^(%[0-9a-fA-F]{0,2}|[A-Za-z0-9+/=\s])*$/)),
  )
  .map(([head, tail]) => head + tail);

describe('image bytes (fuzz)', () => {
  it('loadImage on mutated fixture bytes: an image or a VitkitError, bounded in time and memory', async () => {
    let peakMb = 0;
    await fc.assert(
      fc.asyncProperty(imageBytes, async (input) => {
        const bytes = bytesOf(input);
        await rejectionCodeOf(loadImage(bytes, { maxPixels: MAX_PIXELS }));
        peakMb = Math.max(peakMb, process.memoryUsage().rss / 2 ** 20);
        expect(peakMb).toBeLessThan(RSS_BOUND_MB);
      }),
      { numRuns: fuzzRuns(2000), timeout: 10_000 },
    );
  });

  it('readImageHeaderSize never throws', () => {
    fc.assert(
      fc.property(imageBytes, (input) => {
        const size = readImageHeaderSize(bytesOf(input));
        if (size) expect(Number.isInteger(size.width) && Number.isInteger(size.height)).toBe(true);
      }),
      { numRuns: fuzzRuns(2000) },
    );
  });

  it('data URLs: an image or a VitkitError', async () => {
    await fc.assert(
      fc.asyncProperty(dataUrl, async (url) => {
        await rejectionCodeOf(loadImage(url, { maxPixels: MAX_PIXELS }));
      }),
      { numRuns: fuzzRuns(2000), timeout: 10_000 },
    );
  });
});
