import {
  type Classification,
  type ClassifyOptions,
  type GraphRequest,
  type ImageSource,
  loadPretrained,
  type ModelOptions,
  type PretrainedFiles,
  type PretrainedOptions,
  readId2Label,
  type Tensor,
  topClasses,
  VisionModel,
  VitkitError,
} from '@vitkit/core/internal';

import { buildDeitGraph, type DeitSpec, readDeitSpec } from './model.js';

export type DeitLoadOptions = ModelOptions & PretrainedOptions;

/**
 * A DeiT checkpoint (DeiTModel, DeiTForImageClassification or the distilled
 * DeiTForImageClassificationWithTeacher) ready to run at any input size.
 */
export class Deit extends VisionModel {
  readonly spec: DeitSpec;
  /** `config.json` → `id2label`, when the checkpoint has a classification head. */
  readonly id2label: Map<number, string> | undefined;

  constructor(files: PretrainedFiles, options: ModelOptions = {}) {
    super(files, options);
    this.spec = readDeitSpec(files.config, files.weights);
    this.id2label = readId2Label(files.config);
  }

  get architecture(): string {
    return this.spec.architecture;
  }

  protected buildGraph(request: GraphRequest) {
    return buildDeitGraph(this.spec, this.files.weights, request);
  }

  static async fromPretrained<T extends Deit>(
    this: new (
      files: PretrainedFiles,
      options?: ModelOptions,
    ) => T,
    idOrPath: string,
    options: DeitLoadOptions = {},
  ): Promise<T> {
    return new this(await loadPretrained(idOrPath, options), options);
  }

  /** Top classes of preprocessed pixel_values [B, 3, H, W]: softmax over `logits`, one list per image. */
  async classifyPixels(pixelValues: Tensor, options: ClassifyOptions = {}): Promise<Classification[][]> {
    if (this.spec.head === 'none') {
      throw new VitkitError(
        'MODEL_TYPE_UNSUPPORTED',
        `${this.architecture} has no classification head; load a DeiTForImageClassification(WithTeacher) checkpoint.`,
      );
    }
    const { logits } = await this.run({ pixel_values: pixelValues });
    return topClasses(logits, this.id2label, options.topK);
  }

  /** Loads and preprocesses images as the checkpoint's preprocessor_config.json says, then classifies them. */
  async classify(images: ImageSource | ImageSource[], options: ClassifyOptions = {}): Promise<Classification[][]> {
    return this.classifyPixels((await this.preprocess(images, options.load)).pixel_values, options);
  }
}
