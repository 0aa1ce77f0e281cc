import { type ModelOptions, type RgbImage, type VisionModel, VitkitError } from '@vitkit/core';
import {
  type AttentionMaps,
  AutoModel,
  type DetectOptions,
  type DetrDetection,
  type DetrImageSegmentation,
  type DinoEmbeddings,
  type DinoInput,
  type SegmentOptions,
} from '@vitkit/models';

// What the task commands ask of a model, by method rather than by class, so a family registered
// later (DINOv3 embeds, Grounding DINO detects) serves `vitkit embed` or `detect` with no edit here.

export interface Embedder extends VisionModel {
  embed(input: DinoInput): Promise<DinoEmbeddings>;
}
export interface AttentionMapper extends VisionModel {
  attentionMaps(image: DinoInput): Promise<AttentionMaps>;
}
export interface PcaPicturer extends VisionModel {
  pcaImage(image: DinoInput): Promise<RgbImage>;
}
export interface Detector extends VisionModel {
  detect(images: Parameters<VisionModel['preprocess']>[0], options?: DetectOptions): Promise<DetrDetection[][]>;
}

/** A detection named by the phrase of a text prompt (Grounding DINO) rather than by a class id. */
export interface PromptedDetection {
  label: string;
  score: number;
  box: readonly [number, number, number, number];
}
export interface PromptedDetectOptions {
  threshold?: number;
  textThreshold?: number;
}
/** Detects what a text prompt names; known by its `tokenize`, which only text-conditioned detectors have. */
export interface PromptedDetector extends VisionModel {
  tokenize(prompts: string | readonly string[]): unknown;
  detect(
    images: Parameters<VisionModel['preprocess']>[0],
    prompt: string | readonly string[],
    options?: PromptedDetectOptions,
  ): Promise<PromptedDetection[][]>;
}

export interface Segmenter extends VisionModel {
  segment(images: Parameters<VisionModel['preprocess']>[0], options?: SegmentOptions): Promise<DetrImageSegmentation[]>;
}

interface Capabilities {
  embed: Embedder;
  attentionMaps: AttentionMapper;
  pcaImage: PcaPicturer;
  detect: Detector;
  tokenize: PromptedDetector;
  segment: Segmenter;
}

/** Loads any registered checkpoint and checks it can do what the command needs (MODEL_TYPE_UNSUPPORTED otherwise). */
export async function loadModelFor<K extends keyof Capabilities>(
  method: K,
  command: string,
  idOrPath: string,
  options: ModelOptions,
): Promise<Capabilities[K]> {
  const model = await AutoModel.fromPretrained(idOrPath, options);
  if (typeof (model as unknown as Record<string, unknown>)[method] !== 'function') {
    await model.dispose();
    throw new VitkitError('MODEL_TYPE_UNSUPPORTED', `vitkit ${command} cannot use ${idOrPath}: ${model.architecture} has no ${method}().`);
  }
  return model as Capabilities[K];
}
