import { type GraphRequest, type ModelOptions, type PretrainedFiles, type PretrainedOptions, VisionModel } from '@vitkit/core/internal';

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

  protected buildGraph(request: GraphRequest) {
    return buildDeitGraph(this.spec, this.files.weights, request);
  }
}
