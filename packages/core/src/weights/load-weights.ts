import { readFile } from 'node:fs/promises';
import { VitkitError } from '../errors/vitkit-error.js';
import type { Tensor } from '../tensor/tensor.js';
import { readPytorchBin } from './pytorch-bin.js';
import { readSafetensors } from './safetensors.js';
import { WeightStore } from './weight-store.js';

/**
 * Finds checkpoint files by name, wherever they live: a local folder answers from disk, the Hub
 * answers by downloading into its cache. `undefined` means "this repo has no such file", which is
 * how the weight format is discovered (as transformers does, by trying names in order).
 */
export interface CheckpointFiles {
  /** Where the files come from, for error messages: a folder path or `org/name@revision`. */
  readonly source: string;
  /** Local path of `file`, or undefined when the checkpoint has no such file. */
  optional(file: string): Promise<string | undefined>;
  /** Local path of `file`; throws a VitkitError naming the file when it is absent. */
  required(file: string): Promise<string>;
}

/** A sharded checkpoint's index: which shard file holds each tensor. */
interface ShardIndex {
  weight_map: Record<string, string>;
}

type WeightFormat = 'safetensors' | 'pytorch';

/** Weight file names in the order they are preferred: safetensors first (no unpickling, zero-copy). */
export const WEIGHT_FILES: readonly { file: string; format: WeightFormat; sharded: boolean }[] = [
  { file: 'model.safetensors', format: 'safetensors', sharded: false },
  { file: 'model.safetensors.index.json', format: 'safetensors', sharded: true },
  { file: 'pytorch_model.bin', format: 'pytorch', sharded: false },
  { file: 'pytorch_model.bin.index.json', format: 'pytorch', sharded: true },
];

/** Loads the preferred weight format a checkpoint has into one WeightStore. */
export async function loadWeights(files: CheckpointFiles): Promise<WeightStore> {
  for (const candidate of WEIGHT_FILES) {
    const path = await files.optional(candidate.file);
    if (path === undefined) continue;
    const tensors = candidate.sharded
      ? await readShards(files, path, candidate.file, candidate.format)
      : await readWeightFile(path, candidate.format, `${files.source}/${candidate.file}`);
    return new WeightStore(tensors, `${files.source}/${candidate.file}`);
  }
  throw new VitkitError(
    'FILE_NOT_FOUND',
    `${files.source} has no weights: looked for ${WEIGHT_FILES.map((w) => w.file).join(', ')}. Is this a Hugging Face transformers checkpoint?`,
  );
}

async function readShards(
  files: CheckpointFiles,
  indexPath: string,
  indexName: string,
  format: WeightFormat,
): Promise<Map<string, Tensor>> {
  const where = `${files.source}/${indexName}`;
  let index: ShardIndex;
  try {
    index = JSON.parse(await readFile(indexPath, 'utf8'));
  } catch (cause) {
    throw new VitkitError('WEIGHTS_HEADER_INVALID', `${where} is not valid JSON; delete it (or the cache entry) and download again.`, {
      cause,
    });
  }
  if (!index || typeof index.weight_map !== 'object' || index.weight_map === null) {
    throw new VitkitError('WEIGHTS_HEADER_INVALID', `${where} has no "weight_map" object naming the shard of each tensor.`);
  }
  const shards = [...new Set(Object.values(index.weight_map))];
  const tensors = new Map<string, Tensor>();
  for (const shard of shards) {
    if (typeof shard !== 'string' || shard.includes('..') || shard.startsWith('/')) {
      throw new VitkitError('WEIGHTS_HEADER_INVALID', `${where} names shard ${JSON.stringify(shard)}, which is not a plain file name.`);
    }
    const shardTensors = await readWeightFile(await files.required(shard), format, `${files.source}/${shard}`);
    for (const [name, t] of shardTensors) tensors.set(name, t);
  }
  for (const name of Object.keys(index.weight_map)) {
    if (!tensors.has(name)) {
      throw new VitkitError(
        'WEIGHTS_MISSING_TENSOR',
        `${where} places "${name}" in ${index.weight_map[name]}, but that shard has no such tensor.`,
      );
    }
  }
  return tensors;
}

async function readWeightFile(path: string, format: WeightFormat, source: string): Promise<Map<string, Tensor>> {
  const bytes = new Uint8Array(await readFile(path));
  if (format === 'safetensors') return readSafetensors(bytes, source).tensors;
  return readPytorchBin(bytes, source);
}
