import {
  type ForwardOptions,
  type GraphBuilder,
  type GraphOutputs,
  type GraphRequest,
  type ImageSource,
  type InputSpec,
  loadImage,
  type ModelInputs,
  type ModelOptions,
  type PreprocessorConfig,
  type PretrainedFiles,
  type PretrainedOptions,
  Tensor,
  type Value,
  VisionModel,
  VitkitError,
} from '@vitkit/core/internal';
import { buildDetrGraph, type DetrBuildOptions, type DetrSpec, readDetrSpec } from './model/detr-graph.js';
import type { Box } from './postprocess/boxes.js';
import { postProcessObjectDetection, type TargetSize } from './postprocess/object-detection.js';
import {
  type ImageSegmentation,
  postProcessInstanceSegmentation,
  postProcessPanopticSegmentation,
  postProcessSemanticSegmentation,
} from './postprocess/segmentation.js';

export type DetrLoadOptions = ModelOptions & PretrainedOptions & DetrBuildOptions;

/** One detected object: class name (`id2label`, else the id as text), its id, score and corners in pixels. */
export interface DetrDetection {
  label: string;
  labelId: number;
  score: number;
  /** `[x0, y0, x1, y1]`, in pixels of the target (original) image; normalised when no size was given. */
  box: Box;
}

export interface DetectPixelsOptions {
  /** Keep detections scoring strictly above this (default 0.5). */
  threshold?: number;
  /** `(height, width)` per image to scale boxes to; normalised boxes without it. */
  targetSizes?: readonly TargetSize[];
}

export interface DetectOptions {
  /** Keep detections scoring strictly above this (default 0.5, as transformers' object-detection pipeline). */
  threshold?: number;
}

export type SegmentTask = 'panoptic' | 'semantic' | 'instance';

export interface SegmentOptions {
  /** Default 'panoptic'. */
  task?: SegmentTask;
  /** Panoptic / instance: keep queries scoring strictly above this (default 0.9, as transformers' image-segmentation pipeline). */
  threshold?: number;
  /** Panoptic / instance: a pixel is in a query's own mask when `sigmoid(mask) · score >= maskThreshold` (default 0.5). */
  maskThreshold?: number;
  /** Panoptic / instance: minimum won / own mask area for a segment (default 0.5, as the pipeline). */
  overlapMaskAreaThreshold?: number;
  /** Panoptic: "stuff" label ids merged into one segment per label (default none, as the pipeline). */
  labelIdsToFuse?: Iterable<number>;
}

/** One segment of an image: a query's region (panoptic, instance) or a class's (semantic). */
export interface DetrSegment {
  /** Its value in `segmentation`: a segment id, or the class id for semantic maps. */
  id: number;
  labelId: number;
  /** `id2label[labelId]`, else the id as text. */
  label: string;
  /** The query's score (panoptic, instance). */
  score?: number;
  /** Panoptic: the label is one of `labelIdsToFuse` (its queries share one id). */
  wasFused?: boolean;
  /** Pixels of `segmentation` holding `id`. */
  area: number;
}

export interface DetrImageSegmentation {
  task: SegmentTask;
  /** `[height, width]` of the original image: segment ids (0 none, -1 everywhere when nothing passed) or, semantic, class ids. */
  segmentation: Tensor<'int32'>;
  segments: DetrSegment[];
}

/**
 * A DETR checkpoint (`DetrForObjectDetection`, `DetrForSegmentation` or `DetrModel`) ready to run: one graph and session for
 * every input size, with the backbone's batch norms folded and the position embedding built from the
 * pixel mask in the graph. `detect` goes image → DetrImageProcessor → model → post-processing.
 */
export class Detr extends VisionModel {
  readonly spec: DetrSpec;
  private readonly buildOptions: DetrBuildOptions;

  constructor(files: PretrainedFiles, options: ModelOptions & DetrBuildOptions = {}) {
    super(files, options);
    this.spec = readDetrSpec(files.config, files.weights);
    this.buildOptions = {
      foldBatchNorm: options.foldBatchNorm ?? true,
      sineTrig: options.sineTrig ?? (this.device === 'webgpu' ? 'polynomial' : 'onnx'),
    };
  }

  get architecture(): string {
    return this.spec.architecture;
  }

  /** `pixel_values` and `pixel_mask` as float32 0/1 (`run` converts HF's int64, and makes one when none is given). */
  override get inputSpecs(): readonly InputSpec[] {
    return [
      { name: 'pixel_values', dtype: 'float32', shape: ['batch', this.pixelChannels, 'height', 'width'] },
      // float32, not int64: WebGPU has no int64 Cast, and a Cast left on the CPU would split the graph between devices.
      { name: 'pixel_mask', dtype: 'float32', shape: ['batch', 'height', 'width'] },
    ];
  }

  /** None: the mask's downsampling and the position embedding are computed in the graph, for any size. */
  protected override get specializedDims(): readonly string[] {
    return [];
  }

  protected override defaultProcessorConfig(): PreprocessorConfig {
    return DETR_DEFAULT_PROCESSOR;
  }

  protected buildGraph(g: GraphBuilder, inputs: Readonly<Record<string, Value>>, request: GraphRequest): GraphOutputs {
    return buildDetrGraph(g, inputs, this.spec, this.files.weights, request, this.buildOptions);
  }

  /**
   * Runs on preprocessed inputs. `pixel_mask` ([B, H, W], 1 = real pixel) may be int64 as the
   * processor returns it, or any other numeric dtype; it is fed to the graph as float32 0/1. Without
   * it every pixel counts: an all-ones mask, as transformers' DetrModel makes.
   */
  override async run(inputs: ModelInputs, options: ForwardOptions = {}): Promise<Record<string, Tensor>> {
    const { pixel_values: px, pixel_mask: mask } = inputs;
    if (px?.rank === 4 && px.size === 0) {
      throw new VitkitError(
        'INPUT_SHAPE_INVALID',
        `pixel_values [${px.shape.join(', ')}] is empty: DETR needs at least one image of 1x1 pixels.`,
      );
    }
    const pixelMask = mask ? asFloat32Mask(mask) : px?.rank === 4 ? allOnesMask(px) : undefined;
    return super.run({ ...inputs, pixel_mask: pixelMask }, options);
  }

  /** Detections per image from preprocessed pixels (+ mask), through `postProcessObjectDetection`. */
  async detectPixels(pixelValues: Tensor, pixelMask?: Tensor, options: DetectPixelsOptions = {}): Promise<DetrDetection[][]> {
    if (this.spec.architecture === 'DetrModel') {
      throw new VitkitError(
        'INVALID_ARGUMENT',
        `${this.spec.architecture} has no detection heads; load a DetrForObjectDetection (or DetrForSegmentation) checkpoint.`,
      );
    }
    const out = await this.run({ pixel_values: pixelValues, pixel_mask: pixelMask });
    const results = postProcessObjectDetection(
      { logits: out.logits, pred_boxes: out.pred_boxes },
      { threshold: options.threshold ?? 0.5, targetSizes: options.targetSizes, id2label: this.spec.id2label },
    );
    return results.map((image) =>
      image.detections.map((d) => ({ label: d.labelName ?? String(d.label), labelId: d.label, score: d.score, box: d.box })),
    );
  }

  /**
   * Detects objects in images (paths, URLs, buffers, pixel data, `RgbImage`s): preprocessing from the
   * checkpoint's `preprocessor_config.json` (resize, normalise, pad + mask), boxes in each image's
   * original pixels.
   */
  async detect(images: ImageSource | ImageSource[], options: DetectOptions = {}): Promise<DetrDetection[][]> {
    const list = Array.isArray(images) ? images : [images];
    const decoded = await Promise.all(list.map((s) => loadImage(s)));
    const inputs = this.imageProcessor.processImages(decoded);
    return this.detectPixels(inputs.pixel_values, inputs.pixel_mask, {
      threshold: options.threshold ?? 0.5,
      targetSizes: decoded.map((im) => [im.height, im.width] as const),
    });
  }

  /**
   * Segments images with a DetrForSegmentation checkpoint (e.g. facebook/detr-resnet-50-panoptic):
   * panoptic, instance or semantic maps on each original image. Each image runs on its own: the
   * post-processing resizes the whole (padded) canvas to the target size, as transformers does, so
   * only an unpadded canvas lands exactly on the image.
   */
  async segment(images: ImageSource | ImageSource[], options: SegmentOptions = {}): Promise<DetrImageSegmentation[]> {
    if (!this.spec.maskHead) {
      throw new VitkitError(
        'MODEL_TYPE_UNSUPPORTED',
        `${this.spec.architecture} has no mask head; load a DetrForSegmentation checkpoint (e.g. facebook/detr-resnet-50-panoptic).`,
      );
    }
    const task = options.task ?? 'panoptic';
    if (!['panoptic', 'semantic', 'instance'].includes(task)) {
      throw new VitkitError('INVALID_ARGUMENT', `segment: task must be 'panoptic', 'semantic' or 'instance', got ${JSON.stringify(task)}.`);
    }
    for (const key of ['threshold', 'maskThreshold', 'overlapMaskAreaThreshold'] as const) {
      const v = options[key];
      if (v !== undefined && !(v >= 0 && v <= 1))
        throw new VitkitError('INVALID_ARGUMENT', `segment: ${key} must be between 0 and 1, got ${v}.`);
    }
    const list = Array.isArray(images) ? images : [images];
    const decoded = await Promise.all(list.map((s) => loadImage(s)));
    const results: DetrImageSegmentation[] = [];
    for (const image of decoded) {
      const inputs = this.imageProcessor.processImages([image]);
      const out = await this.run({ pixel_values: inputs.pixel_values, pixel_mask: inputs.pixel_mask });
      const heads = { logits: out.logits, pred_masks: out.pred_masks };
      const targetSizes = [[image.height, image.width] as const];
      const name = (id: number) => this.spec.id2label?.[id] ?? String(id);
      if (task === 'semantic') {
        const [map] = postProcessSemanticSegmentation(heads, { targetSizes });
        const segments = [...pixelCounts(map)].sort(([a], [b]) => a - b).map(([id, area]) => ({ id, labelId: id, label: name(id), area }));
        results.push({ task, segmentation: map, segments });
        continue;
      }
      const settings = {
        threshold: options.threshold ?? 0.9,
        maskThreshold: options.maskThreshold ?? 0.5,
        overlapMaskAreaThreshold: options.overlapMaskAreaThreshold ?? 0.5,
        targetSizes,
      };
      const [segmented]: ImageSegmentation[] =
        task === 'panoptic'
          ? postProcessPanopticSegmentation(heads, { ...settings, labelIdsToFuse: options.labelIdsToFuse })
          : postProcessInstanceSegmentation(heads, settings);
      const counts = pixelCounts(segmented.segmentation);
      const segments = segmented.segmentsInfo.map((s) => ({
        id: s.id,
        labelId: s.labelId,
        label: name(s.labelId),
        score: s.score,
        ...(task === 'panoptic' ? { wasFused: s.wasFused } : {}),
        area: counts.get(s.id) ?? 0,
      }));
      results.push({ task, segmentation: segmented.segmentation, segments });
    }
    return results;
  }
}

function pixelCounts(map: Tensor<'int32'>): Map<number, number> {
  const counts = new Map<number, number>();
  for (const v of map.data) counts.set(v, (counts.get(v) ?? 0) + 1);
  return counts;
}

/** HF's DetrImageProcessor with its constructor defaults, for checkpoints without preprocessor_config.json. */
export const DETR_DEFAULT_PROCESSOR: PreprocessorConfig = { image_processor_type: 'DetrImageProcessor' };

/** `torch.ones((batch, height, width))` for pixel_values [B, 3, H, W]. */
function allOnesMask(pixelValues: Tensor): Tensor<'float32'> {
  const [batch, , height, width] = pixelValues.shape;
  return new Tensor('float32', new Float32Array(batch * height * width).fill(1), [batch, height, width]);
}

/** The graph's mask input: float32, 1 where the given mask is non-zero (what `.to(torch.bool)` keeps). */
function asFloat32Mask(mask: Tensor): Tensor<'float32'> {
  const src = mask.data as ArrayLike<number | bigint>;
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = src[i] ? 1 : 0;
  return new Tensor('float32', out, mask.shape);
}
