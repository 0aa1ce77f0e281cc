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

import { buildSwinGraph, readSwinSpec, type SwinSpec } from './model.js';

export type SwinLoadOptions = ModelOptions & PretrainedOptions;

/** A Swin checkpoint (SwinModel or SwinForImageClassification) ready to run at any input size. */
export class Swin extends VisionModel {
  readonly spec: SwinSpec;
  /** `config.json` → `id2label`, when the checkpoint has a classification head. */
  readonly id2label: Map<number, string> | undefined;

  constructor(files: PretrainedFiles, options: ModelOptions = {}) {
    super(files, options);
    this.spec = readSwinSpec(files.config, files.weights);
    this.id2label = readId2Label(files.config);
  }

  get architecture(): string {
    return this.spec.architecture;
  }

  protected buildGraph(request: GraphRequest) {
    return buildSwinGraph(this.spec, this.files.weights, request);
  }

  static async fromPretrained<T extends Swin>(
    this: new (
      files: PretrainedFiles,
      options?: ModelOptions,
    ) => T,
    idOrPath: string,
    options: SwinLoadOptions = {},
  ): Promise<T> {
    return new this(await loadPretrained(idOrPath, options), options);
  }

  /**
   * The hierarchical feature maps, NCHW: the embeddings' grid, then each stage's output (after its
   * patch merging), as transformers' `reshaped_hidden_states`.
   */
  async featureMaps(pixelValues: Tensor): Promise<Tensor[]> {
    const outputs = await this.run({ pixel_values: pixelValues }, { outputHiddenStates: true });
    return Array.from({ length: this.spec.depths.length + 1 }, (_, i) => outputs[`reshaped_hidden_states_${i}`]);
  }

  /** Top classes of preprocessed pixel_values [B, 3, H, W]: softmax over `logits`, one list per image. */
  async classifyPixels(pixelValues: Tensor, options: ClassifyOptions = {}): Promise<Classification[][]> {
    if (!this.spec.classifier) {
      throw new VitkitError(
        'MODEL_TYPE_UNSUPPORTED',
        `${this.architecture} has no classification head; load a SwinForImageClassification checkpoint.`,
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
