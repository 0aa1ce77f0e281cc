import type { PretrainedFiles } from '../hub/load-pretrained.js';
import type { ModelOptions, VisionModel } from './vision-model.js';

/**
 * What a family package tells generic tools (the CLI's `run`, the benchmark) about itself: which
 * Hugging Face classes (`config.json` → `architectures[0]`) it builds, and how to make one.
 */
export interface ModelFamily {
  /** npm package name, e.g. '@vitkit/dino'. */
  readonly packageName: string;
  readonly architectures: readonly string[];
  create(files: PretrainedFiles, options?: ModelOptions): VisionModel;
}
