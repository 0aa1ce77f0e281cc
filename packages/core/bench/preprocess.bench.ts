// DINOv2 preprocessing of the 640x480 COCO cats photo (shortest edge 256 bicubic, center crop 224,
// rescale + ImageNet normalize), next to sharp's own resize of the same pixels in the same run.
// Run: pnpm --filter @vitkit/core bench:preprocess
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { bench, describe } from 'vitest';
import { loadImage } from '../src/image/load-image.js';
import { createImageProcessor } from '../src/preprocess/image-processor.js';
import { Resample, resizeRgb } from '../src/preprocess/resample-pillow.js';

const CASE = fileURLToPath(new URL('../../../fixtures/preprocess/BitImageProcessor/cats.png/', import.meta.url));
const processor = createImageProcessor(JSON.parse(readFileSync(`${CASE}preprocessor_config.json`, 'utf8')));
const image = await loadImage(fileURLToPath(new URL('../../../fixtures/preprocess/images/cats.png', import.meta.url)));
const raw = { raw: { width: image.width, height: image.height, channels: 3 as const } };

// sharp/libvips would otherwise use every core; one thread makes it a like-for-like comparison.
sharp.concurrency(1);

// Enough warm-up for the JIT to settle and enough samples for a stable median.
const options = { time: 3000, warmupTime: 1000, warmupIterations: 50 };

describe('DINOv2 preprocessing, cats 640x480, one core', () => {
  bench(
    'vitkit: resize 256 bicubic + crop 224 + normalize -> float32 [1,3,224,224]',
    () => {
      processor.processImages(image);
    },
    options,
  );

  bench(
    'vitkit: resizeRgb 640x480 -> 341x256 bicubic (resize only)',
    () => {
      resizeRgb(image, 341, 256, Resample.BICUBIC);
    },
    options,
  );

  bench(
    'sharp: resize 640x480 -> 341x256 cubic, raw out (resize only, 1 thread)',
    async () => {
      await sharp(image.data, raw).resize(341, 256, { kernel: 'cubic', fit: 'fill' }).raw().toBuffer();
    },
    options,
  );

  bench(
    'sharp: resize 341x256 cubic + extract 224x224, raw out (1 thread)',
    async () => {
      await sharp(image.data, raw)
        .resize(341, 256, { kernel: 'cubic', fit: 'fill' })
        .extract({ left: 58, top: 16, width: 224, height: 224 })
        .raw()
        .toBuffer();
    },
    options,
  );
});
