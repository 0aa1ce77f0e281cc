import { VitkitError } from '../errors/vitkit-error.js';
import type { ImageSource, LoadImageOptions } from '../image/image-source.js';
import { loadImage } from '../image/load-image.js';
import type { RgbImage } from '../image/rgb-image.js';
import { Tensor } from '../tensor/tensor.js';
import {
  checkOutputSize,
  detrOutputSize,
  maxHeightWidthOutputSize,
  type SizeDict,
  shortestEdgeOutputSize,
  toSizeDict,
} from './output-size.js';
import { resampleFloat } from './resample-float.js';
import { Resample, resizeRgb } from './resample-pillow.js';
import { centerCropRgb, type RescaleNormalize, rgbToFloatPlanes, writeChwFloat32, writeFloatPlanes } from './transforms.js';

/** `preprocessor_config.json` as transformers writes it; unknown keys are ignored, as HF does. */
export interface PreprocessorConfig {
  image_processor_type?: string;
  feature_extractor_type?: string;
  do_resize?: boolean | null;
  size?: unknown;
  max_size?: number | null;
  resample?: number | null;
  do_center_crop?: boolean | null;
  crop_size?: unknown;
  do_rescale?: boolean | null;
  rescale_factor?: number | null;
  do_normalize?: boolean | null;
  image_mean?: number | number[] | null;
  image_std?: number | number[] | null;
  do_convert_rgb?: boolean | null;
  do_pad?: boolean | null;
  pad_size?: { height: number; width: number } | null;
  [key: string]: unknown;
}

export interface ProcessorOutput {
  /** float32 [B, 3, H, W] */
  pixel_values: Tensor<'float32'>;
  /** int64 [B, H, W], 1 on image pixels and 0 on padding; only from processors that pad (DETR). */
  pixel_mask?: Tensor<'int64'>;
}

const IMAGENET_DEFAULT_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_DEFAULT_STD = [0.229, 0.224, 0.225];
const IMAGENET_STANDARD_MEAN = [0.5, 0.5, 0.5];
const IMAGENET_STANDARD_STD = [0.5, 0.5, 0.5];
const OPENAI_CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073];
const OPENAI_CLIP_STD = [0.26862954, 0.26130258, 0.27577711];

/** Each processor's constructor defaults in transformers, used for keys a config leaves out (or sets to null). */
interface ProcessorDefaults {
  size: SizeDict;
  sizeDefaultsToSquare: boolean;
  resample: Resample;
  doCenterCrop: boolean;
  cropSize: SizeDict;
  mean: number[];
  std: number[];
  doPad: boolean;
}

/** The config with every option resolved and checked. */
export interface ResolvedProcessorOptions {
  doResize: boolean;
  size: SizeDict;
  resample: Resample;
  doCenterCrop: boolean;
  cropSize: { height: number; width: number };
  doRescale: boolean;
  rescaleFactor: number;
  doNormalize: boolean;
  imageMean: number[];
  imageStd: number[];
  doConvertRgb: boolean;
  doPad: boolean;
  padSize?: { height: number; width: number };
}

function invalid(message: string): VitkitError {
  return new VitkitError('PROCESSOR_CONFIG_INVALID', message);
}

function pick<T>(value: T | null | undefined, fallback: T): T {
  return value === null || value === undefined ? fallback : value;
}

function channelValues(value: unknown, name: string, fallback: number[]): number[] {
  if (value === null || value === undefined) return fallback;
  const list = typeof value === 'number' ? [value, value, value] : value;
  if (!Array.isArray(list) || list.length !== 3 || !list.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw invalid(`${name} must be a number or 3 numbers (one per RGB channel), got ${JSON.stringify(value)}.`);
  }
  return list;
}

/**
 * The shared pipeline of transformers' slow image processors for RGB input: resize (Pillow), center
 * crop, rescale, normalize, then stack or pad. Subclasses differ in defaults and the resize rule.
 */
export abstract class ImageProcessor {
  abstract readonly type: string;
  readonly options: ResolvedProcessorOptions;

  constructor(config: PreprocessorConfig, defaults: ProcessorDefaults) {
    const doResize = pick(config.do_resize, true);
    const maxSize = typeof config.max_size === 'number' ? config.max_size : undefined;
    const size =
      config.size == null && maxSize === undefined
        ? defaults.size
        : toSizeDict(config.size, 'size', defaults.sizeDefaultsToSquare, maxSize);
    const resample = pick(config.resample, defaults.resample);
    if (!Number.isInteger(resample) || !(resample in Resample)) {
      throw invalid(`resample ${JSON.stringify(config.resample)} is not one of PIL's filters 0 (NEAREST) to 5 (HAMMING).`);
    }
    const doCenterCrop = pick(config.do_center_crop, defaults.doCenterCrop);
    const cropDict = config.crop_size == null ? defaults.cropSize : toSizeDict(config.crop_size, 'crop_size', true);
    if (doCenterCrop && !('height' in cropDict))
      throw invalid(`crop_size must give height and width, got ${JSON.stringify(config.crop_size)}.`);
    const rescaleFactor = pick(config.rescale_factor, 1 / 255);
    if (typeof rescaleFactor !== 'number' || !Number.isFinite(rescaleFactor))
      throw invalid(`rescale_factor must be a number, got ${JSON.stringify(rescaleFactor)}.`);
    const imageMean = channelValues(config.image_mean, 'image_mean', defaults.mean);
    const imageStd = channelValues(config.image_std, 'image_std', defaults.std);
    const doNormalize = pick(config.do_normalize, true);
    if (doNormalize && imageStd.some((s) => s === 0)) throw invalid('image_std has a zero entry; normalizing would divide by zero.');
    let padSize: { height: number; width: number } | undefined;
    if (config.pad_size != null) {
      const p = toSizeDict(config.pad_size, 'pad_size', true);
      if (!('height' in p)) throw invalid('pad_size must give height and width.');
      padSize = p;
    }
    this.options = {
      doResize,
      size,
      resample: resample as Resample,
      doCenterCrop,
      cropSize: 'height' in cropDict ? cropDict : { height: 0, width: 0 },
      doRescale: pick(config.do_rescale, true),
      rescaleFactor,
      doNormalize,
      imageMean,
      imageStd,
      doConvertRgb: pick(config.do_convert_rgb, true),
      doPad: pick(config.do_pad, defaults.doPad),
      padSize,
    };
  }

  /** Output (height, width) of the resize step for an image of the given size. */
  protected abstract resizeOutputSize(height: number, width: number): [number, number];

  /** Loads the sources (as pipelines' `load_image` does) and preprocesses them as one batch. */
  async process(sources: ImageSource | ImageSource[], loadOptions?: LoadImageOptions): Promise<ProcessorOutput> {
    const list = Array.isArray(sources) ? sources : [sources];
    const images = await Promise.all(list.map((s) => loadImage(s, loadOptions)));
    return this.processImages(images);
  }

  /** Preprocesses decoded images (synchronous: all the work is pure TypeScript). */
  processImages(images: RgbImage | RgbImage[]): ProcessorOutput {
    const list = Array.isArray(images) ? images : [images];
    if (list.length === 0) throw new VitkitError('INVALID_ARGUMENT', 'No images to preprocess.');
    const o = this.options;
    const crop = o.cropSize;
    const prepared = list.map((image) => {
      if (!o.doResize) return o.doCenterCrop ? centerCropRgb(image, crop.height, crop.width) : image;
      const [h, w] = this.resizeOutputSize(image.height, image.width);
      // A shortest-edge size on an extreme aspect ratio can still ask for a huge output.
      checkOutputSize(h, w, `Resizing a ${image.width}x${image.height} image`);
      if (o.doCenterCrop && h >= crop.height && w >= crop.width) {
        // Resize only the pixels the center crop keeps: same bytes, less work.
        const window = {
          left: Math.floor((w - crop.width) / 2),
          top: Math.floor((h - crop.height) / 2),
          width: crop.width,
          height: crop.height,
        };
        return resizeRgb(image, w, h, o.resample, window);
      }
      const resized = resizeRgb(image, w, h, o.resample);
      return o.doCenterCrop ? centerCropRgb(resized, crop.height, crop.width) : resized;
    });
    const ops: RescaleNormalize = {
      rescaleFactor: o.doRescale ? o.rescaleFactor : undefined,
      mean: o.doNormalize ? o.imageMean : undefined,
      std: o.doNormalize ? o.imageStd : undefined,
    };
    return this.batch(prepared, ops);
  }

  /** Stacks same-sized images; processors that pad override this. */
  protected batch(images: RgbImage[], ops: RescaleNormalize): ProcessorOutput {
    const { height, width } = images[0];
    for (const im of images) {
      if (im.height !== height || im.width !== width) {
        throw new VitkitError(
          'INPUT_SHAPE_INVALID',
          `Preprocessed images differ in size (${width}x${height} vs ${im.width}x${im.height}) and this config neither crops nor pads; process them one at a time.`,
        );
      }
    }
    return { pixel_values: stackChw(images, height, width, ops) };
  }
}

function stackChw(images: RgbImage[], height: number, width: number, ops: RescaleNormalize): Tensor<'float32'> {
  const perImage = 3 * height * width;
  const data = new Float32Array(images.length * perImage);
  for (let i = 0; i < images.length; i++) writeChwFloat32(images[i], data, i * perImage, height, width, ops);
  return new Tensor('float32', data, [images.length, 3, height, width]);
}

function requireHeightWidth(size: SizeDict, type: string): [number, number] {
  if (!('height' in size)) throw invalid(`${type} resizes to size {height, width}, but the config gives ${JSON.stringify(size)}.`);
  return [size.height, size.width];
}

/** DINOv2 and BiT: shortest edge (or fixed height/width), then center crop. */
export class BitImageProcessor extends ImageProcessor {
  readonly type = 'BitImageProcessor';
  constructor(config: PreprocessorConfig = {}) {
    super(config, {
      size: { shortest_edge: 224 },
      sizeDefaultsToSquare: false,
      resample: Resample.BICUBIC,
      doCenterCrop: true,
      cropSize: { height: 224, width: 224 },
      mean: OPENAI_CLIP_MEAN,
      std: OPENAI_CLIP_STD,
      doPad: false,
    });
    if (this.options.doResize && !('shortest_edge' in this.options.size) && !('height' in this.options.size)) {
      throw invalid(`BitImageProcessor needs size {shortest_edge} or {height, width}, got ${JSON.stringify(this.options.size)}.`);
    }
  }
  protected resizeOutputSize(height: number, width: number): [number, number] {
    const size = this.options.size;
    // transformers reads shortest_edge first and ignores any longest_edge next to it.
    if ('shortest_edge' in size) return shortestEdgeOutputSize(height, width, size.shortest_edge);
    return requireHeightWidth(size, this.type);
  }
}

/** ViT, DINO (v1) and Swin: a fixed height x width, no crop. */
export class ViTImageProcessor extends ImageProcessor {
  readonly type: string = 'ViTImageProcessor';
  constructor(config: PreprocessorConfig = {}) {
    super(config, {
      size: { height: 224, width: 224 },
      sizeDefaultsToSquare: true,
      resample: Resample.BILINEAR,
      doCenterCrop: false,
      cropSize: { height: 224, width: 224 },
      mean: IMAGENET_STANDARD_MEAN,
      std: IMAGENET_STANDARD_STD,
      doPad: false,
    });
    // ViT has no center-crop step at all, whatever the config says.
    this.options.doCenterCrop = false;
    if (this.options.doResize) requireHeightWidth(this.options.size, this.type);
  }
  protected resizeOutputSize(): [number, number] {
    return requireHeightWidth(this.options.size, this.type);
  }
}

/** DeiT: a fixed height x width, then center crop. */
export class DeiTImageProcessor extends ImageProcessor {
  readonly type = 'DeiTImageProcessor';
  constructor(config: PreprocessorConfig = {}) {
    super(config, {
      size: { height: 256, width: 256 },
      sizeDefaultsToSquare: true,
      resample: Resample.BICUBIC,
      doCenterCrop: true,
      cropSize: { height: 224, width: 224 },
      mean: IMAGENET_STANDARD_MEAN,
      std: IMAGENET_STANDARD_STD,
      doPad: false,
    });
    if (this.options.doResize) requireHeightWidth(this.options.size, this.type);
  }
  protected resizeOutputSize(): [number, number] {
    return requireHeightWidth(this.options.size, this.type);
  }
}

/**
 * DETR: shortest edge capped by longest edge (DETR's own rounding), no crop, then the batch is padded
 * bottom/right with zeros to the largest image (or `pad_size`) and `pixel_mask` marks real pixels.
 */
export class DetrImageProcessor extends ImageProcessor {
  readonly type: string = 'DetrImageProcessor';
  constructor(config: PreprocessorConfig = {}) {
    super(config, {
      size: { shortest_edge: 800, longest_edge: 1333 },
      sizeDefaultsToSquare: false,
      resample: Resample.BILINEAR,
      doCenterCrop: false,
      cropSize: { height: 0, width: 0 },
      mean: IMAGENET_DEFAULT_MEAN,
      std: IMAGENET_DEFAULT_STD,
      doPad: true,
    });
    this.options.doCenterCrop = false;
    const size = this.options.size;
    if (this.options.doResize && !('longest_edge' in size && 'shortest_edge' in size) && !('max_height' in size) && !('height' in size)) {
      throw invalid(
        `DetrImageProcessor needs size {shortest_edge, longest_edge}, {max_height, max_width} or {height, width}, got ${JSON.stringify(size)}.`,
      );
    }
  }
  protected resizeOutputSize(height: number, width: number): [number, number] {
    const size = this.options.size;
    if ('shortest_edge' in size && 'longest_edge' in size) return detrOutputSize(height, width, size.shortest_edge, size.longest_edge);
    if ('max_height' in size) return maxHeightWidthOutputSize(height, width, size.max_height, size.max_width);
    return requireHeightWidth(size, this.type);
  }
  protected override batch(images: RgbImage[], ops: RescaleNormalize): ProcessorOutput {
    if (!this.options.doPad) return super.batch(images, ops);
    const height = this.options.padSize?.height ?? Math.max(...images.map((im) => im.height));
    const width = this.options.padSize?.width ?? Math.max(...images.map((im) => im.width));
    checkOutputSize(height, width, 'Padding the batch to its tallest and widest image');
    for (const im of images) {
      if (im.height > height || im.width > width) {
        throw new VitkitError(
          'INPUT_SHAPE_INVALID',
          `A resized image (${im.width}x${im.height}) is larger than pad_size ${width}x${height}.`,
        );
      }
    }
    const pixelValues = stackChw(images, height, width, ops);
    const mask = new BigInt64Array(images.length * height * width);
    images.forEach((im, i) => {
      for (let y = 0; y < im.height; y++) mask.fill(1n, (i * height + y) * width, (i * height + y) * width + im.width);
    });
    return { pixel_values: pixelValues, pixel_mask: new Tensor('int64', mask, [images.length, height, width]) };
  }
}

/** Grounding DINO's processor: DETR's resize, rescale, normalize and pad + mask, under its own name. */
export class GroundingDinoImageProcessor extends DetrImageProcessor {
  override readonly type: string = 'GroundingDinoImageProcessor';
}

/**
 * DINOv3's processor as its checkpoints ship it, transformers' torchvision-based
 * `DINOv3ViTImageProcessorFast`: rescale to float first, resize the float image (torch's antialiased
 * filter: Pillow's weights in float32, no rounding or clamping), then normalize; no crop. About one
 * grey level away from the Pillow (uint8) processors, hence its own resampler.
 */
export class DINOv3ViTImageProcessorFast extends ImageProcessor {
  readonly type = 'DINOv3ViTImageProcessorFast';
  constructor(config: PreprocessorConfig = {}) {
    super(config, {
      size: { height: 224, width: 224 },
      sizeDefaultsToSquare: true,
      resample: Resample.BILINEAR,
      doCenterCrop: false,
      cropSize: { height: 224, width: 224 },
      mean: IMAGENET_DEFAULT_MEAN,
      std: IMAGENET_DEFAULT_STD,
      doPad: false,
    });
    if (this.options.doCenterCrop) throw invalid(`${this.type}: do_center_crop is not supported (DINOv3 checkpoints do not crop).`);
    if (this.options.doPad) throw invalid(`${this.type}: do_pad is not supported.`);
    if (this.options.doResize) {
      requireHeightWidth(this.options.size, this.type);
      if (this.options.resample !== Resample.BILINEAR && this.options.resample !== Resample.BICUBIC) {
        throw invalid(
          `${this.type} resizes with BILINEAR (2) or BICUBIC (3), as torch antialiases only those; got ${this.options.resample}.`,
        );
      }
    }
  }
  protected resizeOutputSize(): [number, number] {
    return requireHeightWidth(this.options.size, this.type);
  }
  override processImages(images: RgbImage | RgbImage[]): ProcessorOutput {
    const list = Array.isArray(images) ? images : [images];
    if (list.length === 0) throw new VitkitError('INVALID_ARGUMENT', 'No images to preprocess.');
    const o = this.options;
    const prepared = list.map((image) => {
      const float = {
        planes: rgbToFloatPlanes(image, o.doRescale ? o.rescaleFactor : undefined),
        width: image.width,
        height: image.height,
      };
      if (!o.doResize) return float;
      const [h, w] = this.resizeOutputSize();
      checkOutputSize(h, w, `Resizing a ${image.width}x${image.height} image`);
      return resampleFloat(float, w, h, o.resample);
    });
    const { height, width } = prepared[0];
    if (prepared.some((p) => p.height !== height || p.width !== width)) {
      throw new VitkitError(
        'INPUT_SHAPE_INVALID',
        'Preprocessed images differ in size and this config does not resize; process them one at a time.',
      );
    }
    const perImage = 3 * height * width;
    const data = new Float32Array(list.length * perImage);
    prepared.forEach((p, i) =>
      writeFloatPlanes(p.planes, data, i * perImage, o.doNormalize ? o.imageMean : undefined, o.doNormalize ? o.imageStd : undefined),
    );
    return { pixel_values: new Tensor('float32', data, [list.length, 3, height, width]) };
  }
}

const PROCESSORS: Record<string, new (config: PreprocessorConfig) => ImageProcessor> = {
  DINOv3ViTImageProcessorFast,
  BitImageProcessor,
  ViTImageProcessor,
  DeiTImageProcessor,
  DetrImageProcessor,
  GroundingDinoImageProcessor,
};

/**
 * `AutoImageProcessor` for the supported families: dispatches on `image_processor_type` (or a legacy
 * `feature_extractor_type`, whose `XFeatureExtractor` maps to `XImageProcessor` as in transformers).
 * A `...Fast` type is served by its slow (PIL) counterpart, which is what this library reproduces,
 * unless the fast one is a processor of its own (DINOv3's, which has no slow counterpart).
 */
export function createImageProcessor(config: PreprocessorConfig): ImageProcessor {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw invalid('A preprocessor config must be a JSON object.');
  }
  // transformers v5 saves a processor's parts together in processor_config.json, the image processor under "image_processor".
  const nested = config.image_processor;
  if (config.image_processor_type === undefined && nested !== null && typeof nested === 'object' && !Array.isArray(nested)) {
    config = nested as PreprocessorConfig;
  }
  const legacy = config.feature_extractor_type;
  const declared =
    config.image_processor_type ?? (typeof legacy === 'string' ? legacy.replace(/FeatureExtractor$/, 'ImageProcessor') : legacy);
  if (typeof declared !== 'string') {
    throw invalid('The preprocessor config names no image_processor_type (or feature_extractor_type).');
  }
  const name = Object.hasOwn(PROCESSORS, declared) ? declared : declared.replace(/Fast$/, '');
  // Own keys only: "constructor" or "toString" must not reach Object.prototype.
  const Processor = Object.hasOwn(PROCESSORS, name) ? PROCESSORS[name] : undefined;
  if (!Processor) {
    throw new VitkitError(
      'PROCESSOR_UNSUPPORTED',
      `Image processor "${declared}" is not supported; supported: ${Object.keys(PROCESSORS).join(', ')}.`,
    );
  }
  return new Processor(config);
}
