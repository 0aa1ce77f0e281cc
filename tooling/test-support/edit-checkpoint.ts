import type { PretrainedFiles } from '../../packages/core/src/hub/load-pretrained-types.js';
import type { Tensor } from '../../packages/core/src/tensor/tensor.js';
import { WeightStore } from '../../packages/core/src/weights/weight-store.js';

export interface CheckpointEdit {
  config?: (config: Record<string, unknown>) => void;
  weights?: (tensors: Map<string, Tensor>) => void;
}

/** A copy of a loaded checkpoint with config.json and/or its weights edited, for bad-input tests. */
export function editCheckpoint(files: PretrainedFiles, edit: CheckpointEdit): PretrainedFiles {
  const config = structuredClone(files.config) as Record<string, unknown>;
  edit.config?.(config);
  if (!edit.weights) return { ...files, config };
  const tensors = new Map(files.weights.keys().map((k) => [k, files.weights.get(k)]));
  edit.weights(tensors);
  return { ...files, config, weights: new WeightStore(tensors, 'edited checkpoint') };
}
