import {
  type GraphBuilder,
  type GraphOutputs,
  type GraphRequest,
  type ModelOptions,
  type PreprocessorConfig,
  type PretrainedFiles,
  type PretrainedOptions,
  type Value,
  VisionModel,
} from '@vitkit/core/internal';
import { buildDeitGraph, type DeitSpec, readDeitSpec } from './model.js';

export type DeitLoadOptions = ModelOptions & PretrainedOptions;

/**
 * A DeiT checkpoint (DeiTModel, DeiTForImageClassification or the distilled
 * DeiTForImageClassificationWithTeacher) ready to run at any input size.
 */
export class Deit extends VisionModel {
  readonly spec: DeitSpec;

  constructor(files: PretrainedFiles, options: ModelOptions = {}) {
    super(files, options);
    this.spec = readDeitSpec(files.config, files.weights);
  }

  override get hasClassifier(): boolean {
    return this.spec.head !== 'none';
  }

  get architecture(): string {
    return this.spec.architecture;
  }

  protected override defaultProcessorConfig(): PreprocessorConfig {
    return DEIT_DEFAULT_PROCESSOR;
  }

  protected buildGraph(g: GraphBuilder, inputs: Readonly<Record<string, Value>>, request: GraphRequest): GraphOutputs {
    return buildDeitGraph(g, inputs, this.spec, this.files.weights, request);
  }
}

/** HF's DeiTImageProcessor with its constructor defaults, for checkpoints without preprocessor_config.json. */
export const DEIT_DEFAULT_PROCESSOR: PreprocessorConfig = { image_processor_type: 'DeiTImageProcessor' };
