import {
  type GraphRequest,
  loadPretrained,
  type ModelOptions,
  type PretrainedFiles,
  type PretrainedOptions,
  VisionModel,
} from '@vitkit/core/internal';
import { buildDinoGraph, type DinoSpec, readDinoSpec } from './model.js';

export type DinoLoadOptions = ModelOptions & PretrainedOptions;

/**
 * A DINO-family checkpoint (ViT, DINOv2, DINOv2 with registers, with or without a classifier)
 * ready to run. `Dinov2` and `Dino` are its user-facing names.
 */
export class DinoModel extends VisionModel {
  readonly spec: DinoSpec;

  constructor(files: PretrainedFiles, options: ModelOptions = {}) {
    super(files, options);
    this.spec = readDinoSpec(files.config, files.weights);
  }

  get architecture(): string {
    return this.spec.architecture;
  }

  protected buildGraph(request: GraphRequest) {
    return buildDinoGraph(this.spec, this.files.weights, request);
  }

  static async fromPretrained<T extends DinoModel>(
    this: new (
      files: PretrainedFiles,
      options?: ModelOptions,
    ) => T,
    idOrPath: string,
    options: DinoLoadOptions = {},
  ): Promise<T> {
    return new this(await loadPretrained(idOrPath, options), options);
  }
}
