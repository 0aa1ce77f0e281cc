// Fuzz: preprocessor_config.json, as bytes (mutated real configs, read as loadPretrained reads
// them) and as objects with every key a processor reads set to plausible and implausible values,
// then run on small images. Each input ends in pixel values or a VitkitError, and sizes past the
// image pixel limit are refused before anything is allocated (time and memory stay small).
// CI tries fuzzRuns(2000) inputs per property; `pnpm fuzz` (VITKIT_FUZZ_RUNS) tries more.
import { readFileSync } from 'node:fs';
import { codeOf, fuzzRuns } from '@vitkit/test-support';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfigJson } from '../hub/config-json.js';
import { DEFAULT_MAX_IMAGE_PIXELS } from '../image/image-source.js';
import { RgbImage } from '../image/rgb-image.js';
import { createImageProcessor, type PreprocessorConfig } from './image-processor.js';

const FIXTURES = new URL('../../../../fixtures/preprocess/', import.meta.url).pathname;
const REAL = [
  'BitImageProcessor/cats.jpg',
  'DeiTImageProcessor/cats.png',
  'DetrImageProcessor-small/batch-cats-synthetic',
  'ViTImageProcessor-defaults/cats.png',
].map((dir) => new Uint8Array(readFileSync(`${FIXTURES}${dir}/preprocessor_config.json`)));

const TYPES = ['BitImageProcessor', 'ViTImageProcessor', 'DeiTImageProcessor', 'DetrImageProcessor', 'DetrImageProcessorFast'];

/** Small sides (fast to process), sometimes large or past the pixel limit. */
const side = fc.oneof(
  { weight: 30, arbitrary: fc.integer({ min: 1, max: 48 }) },
  { weight: 1, arbitrary: fc.integer({ min: 10_000, max: 1e12 }) },
);

/** A size in every form transformers accepts. */
const size = fc.oneof(
  side,
  fc.tuple(side, side),
  fc.record({ height: side, width: side }),
  fc.record({ shortest_edge: side }),
  fc.record({ shortest_edge: side, longest_edge: side }),
  fc.record({ longest_edge: side }),
  fc.record({ max_height: side, max_width: side }),
);

const channels = fc.tuple(
  fc.double({ min: -1, max: 1, noNaN: true }),
  fc.double({ min: -1, max: 1, noNaN: true }),
  fc.double({ min: 0.01, max: 2, noNaN: true }),
);

/** A plausible config: every key a processor reads, each present or not, with values of the right kind. */
const plausibleConfig = fc.record(
  {
    image_processor_type: fc.constantFrom(...TYPES),
    do_resize: fc.boolean(),
    size,
    resample: fc.integer({ min: 0, max: 5 }),
    do_center_crop: fc.boolean(),
    crop_size: fc.oneof(side, fc.record({ height: side, width: side })),
    do_rescale: fc.boolean(),
    rescale_factor: fc.double({ min: 0, max: 1, noNaN: true }),
    do_normalize: fc.boolean(),
    image_mean: fc.oneof(channels, fc.double({ min: -1, max: 1, noNaN: true })),
    image_std: fc.oneof(channels, fc.double({ min: 0.01, max: 2, noNaN: true })),
    do_convert_rgb: fc.boolean(),
    do_pad: fc.boolean(),
    pad_size: fc.record({ height: side, width: side }),
  },
  // Most configs set size: DETR's default (800 x 1333) is slow to fuzz thousands of times.
  { requiredKeys: ['image_processor_type', 'size'] },
);

const KEYS = [
  'image_processor_type',
  'feature_extractor_type',
  'do_resize',
  'size',
  'max_size',
  'resample',
  'do_center_crop',
  'crop_size',
  'rescale_factor',
  'image_mean',
  'image_std',
  'do_pad',
  'pad_size',
];

/** A plausible config with up to two keys set to any JSON value (or a malformed size or number). */
const configObject: fc.Arbitrary<PreprocessorConfig> = fc
  .tuple(
    plausibleConfig,
    fc.array(
      fc.tuple(
        fc.constantFrom(...KEYS),
        fc.oneof(
          fc.jsonValue({ maxDepth: 3 }),
          fc.constantFrom(0, -1, 1.5, 1e300, '224', null, true, [], {}, [224], [1, 2, 3], { height: 5 }, { width: 5, shortest_edge: 5 }),
        ),
      ),
      { maxLength: 2 },
    ),
  )
  .map(([config, overrides]) => ({ ...config, ...Object.fromEntries(overrides) }) as PreprocessorConfig);

const mutatedBytes = fc
  .tuple(fc.constantFrom(...REAL), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.option(fc.nat()))
  .map(([bytes, edits, cut]) => {
    const out = new Uint8Array(bytes);
    for (const [at, value] of edits) out[at % out.length] = value;
    return cut === null ? out : out.subarray(0, cut % (out.length + 1));
  });

const image = fc
  .tuple(fc.integer({ min: 1, max: 24 }), fc.integer({ min: 1, max: 24 }), fc.integer({ min: 0, max: 255 }))
  .map(([width, height, value]) => new RgbImage(new Uint8Array(width * height * 3).fill(value), width, height));
const images = fc.array(image, { minLength: 1, maxLength: 3 });

/** Preprocesses; whatever comes out stays within the pixel limit per image. */
function run(config: unknown, batch: RgbImage[]): void {
  const output = createImageProcessor(config as PreprocessorConfig).processImages(batch);
  const [, c, h, w] = output.pixel_values.shape;
  expect(c).toBe(3);
  expect(h * w).toBeLessThanOrEqual(DEFAULT_MAX_IMAGE_PIXELS);
}

describe('preprocessor_config.json (fuzz)', () => {
  it('config objects: pixel values or a VitkitError', () => {
    fc.assert(
      fc.property(configObject, images, (config, batch) => {
        codeOf(() => run(config, batch));
      }),
      { numRuns: fuzzRuns(2000) },
    );
  });

  it('config bytes (mutated real configs): pixel values or a VitkitError', () => {
    fc.assert(
      fc.property(mutatedBytes, images, (bytes, batch) => {
        codeOf(() => run(parseConfigJson(bytes, 'preprocessor_config.json'), batch));
      }),
      { numRuns: fuzzRuns(2000) },
    );
  });
});
