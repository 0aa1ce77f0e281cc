import {
  architectureOf,
  familyFor,
  loadPretrained,
  type ModelFamily,
  type ModelOptions,
  type PretrainedFiles,
  type PretrainedOptions,
  prepareRuntime,
  type RawConfig,
  type VisionModel,
} from '@vitkit/core';
import { FAMILIES } from './registry.js';

/**
 * Loads any checkpoint a registered family builds, picked from its config.json
 * (`architectures[0]`, else `model_type`), as transformers' `AutoModel` does.
 */
export const AutoModel = {
  /** A local folder or Hub id (see `loadPretrained`) as the model class its config.json names. */
  async fromPretrained(idOrPath: string, options: ModelOptions & PretrainedOptions = {}): Promise<VisionModel> {
    // In a browser, onnxruntime-web's wasm starts while the weights download (see prepareRuntime).
    const [files] = await Promise.all([loadPretrained(idOrPath, options), prepareRuntime(options)]);
    return AutoModel.fromFiles(files, options);
  },

  /** Checkpoint files already loaded (e.g. by `loadPretrained`). */
  fromFiles(files: PretrainedFiles, options: ModelOptions = {}): VisionModel {
    return familyFor(files.config, FAMILIES).create(files, options);
  },
};

/** The registered family that builds this config.json (MODEL_TYPE_UNSUPPORTED when none does). */
export function findFamily(config: RawConfig): ModelFamily {
  return familyFor(config, FAMILIES);
}

/** The Hugging Face class a config.json names, resolving a bare `model_type` through the registry. */
export function architectureFor(config: RawConfig): string | undefined {
  return architectureOf(config, FAMILIES);
}
