import {
  type GraphBuilder,
  type GraphOutputs,
  type GraphRequest,
  type ModelOptions,
  type PreprocessorConfig,
  type PretrainedFiles,
  type PretrainedOptions,
  type Tensor,
  type Value,
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

  protected override defaultProcessorConfig(): PreprocessorConfig {
    return SWIN_DEFAULT_PROCESSOR;
  }

  protected buildGraph(g: GraphBuilder, inputs: Readonly<Record<string, Value>>, request: GraphRequest): GraphOutputs {
    return buildSwinGraph(g, inputs, this.spec, this.files.weights, request);
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

/** Swin checkpoints ship ViTImageProcessor configs; its constructor defaults for those that do not. */
export const SWIN_DEFAULT_PROCESSOR: PreprocessorConfig = { image_processor_type: 'ViTImageProcessor' };
