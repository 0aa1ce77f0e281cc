// The weight files a checkpoint may have, by name, for every loader (Node's folders and Hub cache, the
// browser's fetches, bytes in memory). Platform-neutral: no Node built-ins, so browser bundles share it.
import { VitkitError } from '../errors/vitkit-error.js';

export type WeightFormat = 'safetensors' | 'pytorch';

/** Weight file names in the order they are preferred: safetensors first (no unpickling, zero-copy). */
export const WEIGHT_FILES: readonly { file: string; format: WeightFormat; sharded: boolean }[] = [
  { file: 'model.safetensors', format: 'safetensors', sharded: false },
  { file: 'model.safetensors.index.json', format: 'safetensors', sharded: true },
  { file: 'pytorch_model.bin', format: 'pytorch', sharded: false },
  { file: 'pytorch_model.bin.index.json', format: 'pytorch', sharded: true },
];

/** FILE_NOT_FOUND for a checkpoint with none of `WEIGHT_FILES`. */
export function noWeightFilesError(source: string): VitkitError {
  return new VitkitError(
    'FILE_NOT_FOUND',
    `${source} has no weights: looked for ${WEIGHT_FILES.map((w) => w.file).join(', ')}. Is this a Hugging Face transformers checkpoint?`,
  );
}
