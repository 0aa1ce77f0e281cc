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

import { buildSwinGraph, isSwinv2, readSwinSpec, type SwinSpec } from './model.js';
import { buildSwinv2Graph, readSwinv2Spec, type Swinv2Spec } from './model-v2.js';

export type SwinLoadOptions = ModelOptions & PretrainedOptions;

/**
 * A Swin or Swin V2 checkpoint (SwinModel, Swinv2Model, or either with its image-classification
 * head) ready to run at any input size.
 */
export class Swin extends VisionModel {
  readonly spec: SwinSpec | Swinv2Spec;

  constructor(files: PretrainedFiles, options: ModelOptions = {}) {
    super(files, options);
    const spec = readSwinSpec(files.config, files.weights);
    this.spec = isSwinv2(spec.architecture) ? readSwinv2Spec(files.config, spec) : spec;
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
    const spec = this.spec;
    return 'stages' in spec
      ? buildSwinv2Graph(g, inputs, spec, this.files.weights, request)
      : buildSwinGraph(g, inputs, spec, this.files.weights, request);
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

/** Swin (and Swin V2) checkpoints ship ViTImageProcessor configs; its constructor defaults for those that do not. */
export const SWIN_DEFAULT_PROCESSOR: PreprocessorConfig = { image_processor_type: 'ViTImageProcessor' };
