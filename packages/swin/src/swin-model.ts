import {
  type GraphRequest,
  type ModelOptions,
  type PretrainedFiles,
  type PretrainedOptions,
  type Tensor,
  VisionModel,
} from '@vitkit/core/internal';

import { buildSwinGraph, readSwinSpec, type SwinSpec } from './model.js';

export type SwinLoadOptions = ModelOptions & PretrainedOptions;

/** A Swin checkpoint (SwinModel or SwinForImageClassification) ready to run at any input size. */
export class Swin extends VisionModel {
  readonly spec: SwinSpec;

  constructor(files: PretrainedFiles, options: ModelOptions = {}) {
    super(files, options);
    this.spec = readSwinSpec(files.config, files.weights);
  }

  override get hasClassifier(): boolean {
    return this.spec.classifier;
  }

  get architecture(): string {
    return this.spec.architecture;
  }

  protected buildGraph(request: GraphRequest) {
    return buildSwinGraph(this.spec, this.files.weights, request);
  }

  /**
   * The hierarchical feature maps, NCHW: the embeddings' grid, then each stage's output (after its
   * patch merging), as transformers' `reshaped_hidden_states`.
   */
  async featureMaps(pixelValues: Tensor): Promise<Tensor[]> {
    const outputs = await this.run({ pixel_values: pixelValues }, { outputHiddenStates: true });
    return Array.from({ length: this.spec.depths.length + 1 }, (_, i) => outputs[`reshaped_hidden_states_${i}`]);
  }
}
