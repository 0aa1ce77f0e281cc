import { describe, expect, it } from 'vitest';
import { isVitkitError, type VitkitErrorCode } from '../errors/vitkit-error.js';
import { RgbImage } from '../image/rgb-image.js';
import {
  BitImageProcessor,
  createImageProcessor,
  DetrImageProcessor,
  GroundingDinoImageProcessor,
  ViTImageProcessor,
} from './image-processor.js';
import { detrOutputSize, shortestEdgeOutputSize } from './output-size.js';

function expectCode(fn: () => unknown, code: VitkitErrorCode): void {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(isVitkitError(error, code), `expected ${code}, got ${String(error)}`).toBe(true);
}

const gray = (width: number, height: number, value = 128) => new RgbImage(new Uint8Array(width * height * 3).fill(value), width, height);

describe('createImageProcessor', () => {
  it('dispatches on image_processor_type, legacy feature_extractor_type and Fast names', () => {
    expect(createImageProcessor({ image_processor_type: 'BitImageProcessor' })).toBeInstanceOf(BitImageProcessor);
    expect(createImageProcessor({ feature_extractor_type: 'ViTFeatureExtractor' })).toBeInstanceOf(ViTImageProcessor);
    expect(createImageProcessor({ image_processor_type: 'DetrImageProcessorFast' })).toBeInstanceOf(DetrImageProcessor);
  });

  it('serves GroundingDinoImageProcessor (DETR pipeline) and reads the v5 processor_config.json layout', () => {
    const processor = createImageProcessor({ image_processor_type: 'GroundingDinoImageProcessorFast' });
    expect(processor).toBeInstanceOf(GroundingDinoImageProcessor);
    expect(processor.type).toBe('GroundingDinoImageProcessor');
    const nested = createImageProcessor({
      processor_class: 'GroundingDinoProcessor',
      image_processor: { image_processor_type: 'DetrImageProcessor', size: { shortest_edge: 64, longest_edge: 96 } },
    });
    expect(nested).toBeInstanceOf(DetrImageProcessor);
    expect(nested.options.size).toEqual({ shortest_edge: 64, longest_edge: 96 });
    expectCode(() => createImageProcessor({ image_processor: 3 }), 'PROCESSOR_CONFIG_INVALID');
  });

  it('refuses unknown processor types', () => {
    expectCode(() => createImageProcessor({ image_processor_type: 'CLIPImageProcessor' }), 'PROCESSOR_UNSUPPORTED');
    expectCode(() => createImageProcessor({}), 'PROCESSOR_CONFIG_INVALID');
    // Found by the fuzz test: a non-string legacy type, and names of Object.prototype members.
    expectCode(() => createImageProcessor({ feature_extractor_type: 0 as unknown as string }), 'PROCESSOR_CONFIG_INVALID');
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      expectCode(() => createImageProcessor({ image_processor_type: name }), 'PROCESSOR_UNSUPPORTED');
    }
  });

  it('refuses contradictory or malformed options', () => {
    const type = 'ViTImageProcessor';
    expectCode(
      () => createImageProcessor({ image_processor_type: type, size: { height: 224, width: 224, shortest_edge: 256 } }),
      'PROCESSOR_CONFIG_INVALID',
    );
    expectCode(() => createImageProcessor({ image_processor_type: type, size: { shortest_edge: 256 } }), 'PROCESSOR_CONFIG_INVALID');
    expectCode(() => createImageProcessor({ image_processor_type: type, size: { height: 0, width: 3 } }), 'PROCESSOR_CONFIG_INVALID');
    expectCode(() => createImageProcessor({ image_processor_type: type, size: 224, max_size: 300 }), 'PROCESSOR_CONFIG_INVALID');
    expectCode(
      () => createImageProcessor({ image_processor_type: 'DetrImageProcessor', size: { shortest_edge: 800 } }),
      'PROCESSOR_CONFIG_INVALID',
    );
    expectCode(
      () => createImageProcessor({ image_processor_type: 'BitImageProcessor', crop_size: { shortest_edge: 2 } }),
      'PROCESSOR_CONFIG_INVALID',
    );
    expectCode(() => createImageProcessor({ image_processor_type: type, resample: 7 }), 'PROCESSOR_CONFIG_INVALID');
    expectCode(() => createImageProcessor({ image_processor_type: type, image_mean: [0.5, 0.5] }), 'PROCESSOR_CONFIG_INVALID');
    expectCode(() => createImageProcessor({ image_processor_type: type, image_std: [0.5, 0, 0.5] }), 'PROCESSOR_CONFIG_INVALID');
  });

  it('reads legacy integer sizes as transformers does', () => {
    expect(createImageProcessor({ image_processor_type: 'ViTImageProcessor', size: 384 }).options.size).toEqual({
      height: 384,
      width: 384,
    });
    expect(createImageProcessor({ image_processor_type: 'BitImageProcessor', size: 256 }).options.size).toEqual({ shortest_edge: 256 });
    expect(createImageProcessor({ image_processor_type: 'DetrImageProcessor', size: 800, max_size: 1333 }).options.size).toEqual({
      shortest_edge: 800,
      longest_edge: 1333,
    });
  });
});

describe('sizes bounded by the image pixel limit', () => {
  const tiny = gray(40, 30);

  it('refuses sizes, crops and pads over DEFAULT_MAX_IMAGE_PIXELS when the config is read, before any allocation', () => {
    const configs = [
      { image_processor_type: 'ViTImageProcessor', size: { height: 100_000, width: 100_000 } },
      { image_processor_type: 'ViTImageProcessor', size: 100_000 },
      { image_processor_type: 'BitImageProcessor', crop_size: { height: 1_000_000, width: 224 } },
      { image_processor_type: 'BitImageProcessor', crop_size: 1_000_000 },
      { image_processor_type: 'BitImageProcessor', size: { shortest_edge: 20_000 } },
      { image_processor_type: 'DetrImageProcessor', size: { shortest_edge: 800, longest_edge: 1e9 } },
      { image_processor_type: 'DetrImageProcessor', size: { max_height: 100_000, max_width: 100_000 } },
      { image_processor_type: 'DetrImageProcessor', pad_size: { height: 100_000, width: 100_000 } },
      { image_processor_type: 'DetrImageProcessor', size: 800, max_size: 1e12 },
    ];
    for (const config of configs) {
      const started = performance.now();
      expectCode(() => createImageProcessor(config).processImages(tiny), 'PROCESSOR_CONFIG_INVALID');
      expect(performance.now() - started, JSON.stringify(config)).toBeLessThan(100);
    }
    // Real configs are far inside the bound.
    expect(createImageProcessor({ image_processor_type: 'DetrImageProcessor' }).processImages(tiny).pixel_values.shape).toEqual([
      1, 3, 800, 1066,
    ]);
  });

  it('refuses a resize whose output would pass the limit (shortest edge on an extreme aspect ratio)', () => {
    const processor = createImageProcessor({
      image_processor_type: 'BitImageProcessor',
      size: { shortest_edge: 224 },
      do_center_crop: false,
    });
    const started = performance.now();
    expectCode(() => processor.processImages(gray(1, 500_000)), 'IMAGE_TOO_LARGE');
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});

describe('output sizes', () => {
  it('shortest edge: long side truncated, orientation kept', () => {
    expect(shortestEdgeOutputSize(480, 640, 256)).toEqual([256, 341]);
    expect(shortestEdgeOutputSize(640, 480, 256)).toEqual([341, 256]);
    expect(shortestEdgeOutputSize(61, 97, 256)).toEqual([256, 407]);
  });

  it('DETR: capped by the longest edge, other side from the unrounded short side', () => {
    expect(detrOutputSize(480, 640, 800, 1333)).toEqual([800, 1066]);
    expect(detrOutputSize(61, 97, 96, 140)).toEqual([88, 140]);
    expect(detrOutputSize(97, 61, 96, 140)).toEqual([140, 88]);
    expect(detrOutputSize(96, 50, 96, 200)).toEqual([184, 96]);
    // Already at the target: unchanged.
    expect(detrOutputSize(96, 120, 96, 140)).toEqual([96, 120]);
  });
});

describe('processing', () => {
  it('center crop pads with zeros (before normalisation) when the image is smaller than the crop', () => {
    const p = createImageProcessor({
      image_processor_type: 'DeiTImageProcessor',
      do_resize: false,
      crop_size: { height: 6, width: 4 },
      image_mean: 0.5,
      image_std: 0.5,
    });
    const out = p.processImages(gray(2, 8, 255)).pixel_values;
    expect(out.shape).toEqual([1, 3, 6, 4]);
    const row = (y: number) => Array.from(out.data.subarray(y * 4, y * 4 + 4));
    // Width 2 in 4: columns 1..2 hold the image (ceil((4-2)/2) = 1); height 8 cropped to 6 from row 1.
    expect(row(0)).toEqual([-1, 1, 1, -1]);
  });

  it('DETR pads the batch bottom/right and masks the padding', () => {
    const p = createImageProcessor({
      image_processor_type: 'DetrImageProcessor',
      size: { shortest_edge: 4, longest_edge: 8 },
      do_normalize: false,
    });
    const out = p.processImages([gray(4, 4, 255), gray(8, 4, 255)]);
    expect(out.pixel_values.shape).toEqual([2, 3, 4, 8]);
    const mask = out.pixel_mask;
    expect(mask?.dtype).toBe('int64');
    expect(Array.from(mask?.data.subarray(0, 8) as BigInt64Array, Number)).toEqual([1, 1, 1, 1, 0, 0, 0, 0]);
    expect(Array.from(out.pixel_values.data.subarray(0, 8))).toEqual([1, 1, 1, 1, 0, 0, 0, 0]);
    expect(Array.from(mask?.data.subarray(32, 40) as BigInt64Array, Number)).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
  });

  it('refuses a batch of different sizes when nothing crops or pads', () => {
    const p = createImageProcessor({ image_processor_type: 'BitImageProcessor', do_center_crop: false, size: { shortest_edge: 8 } });
    expectCode(() => p.processImages([gray(8, 8), gray(16, 8)]), 'INPUT_SHAPE_INVALID');
    expectCode(() => p.processImages([]), 'INVALID_ARGUMENT');
  });

  it('rescale then normalize in float32, in the order numpy evaluates them', () => {
    const p = createImageProcessor({
      image_processor_type: 'ViTImageProcessor',
      do_resize: false,
      image_mean: [0.485, 0.456, 0.406],
      image_std: [0.229, 0.224, 0.225],
    });
    const v = 77;
    const out = p.processImages(gray(1, 1, v)).pixel_values.data;
    const f = Math.fround;
    expect(out[0]).toBe(f(f(f(v * (1 / 255)) - f(0.485)) / f(0.229)));
    expect(out[1]).toBe(f(f(f(v * (1 / 255)) - f(0.456)) / f(0.224)));
  });
});
