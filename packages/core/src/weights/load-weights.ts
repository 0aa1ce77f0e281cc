import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
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

/** The weight files a checkpoint loads from, all already local. */
export interface WeightFiles {
  format: WeightFormat;
  /** The file that decided the format: the weights themselves, or the shard index. */
  entry: string;
  /** Local paths of every file holding tensors (one, or each shard). */
  paths: string[];
}

/**
 * Finds (and, for the Hub, downloads) the preferred weight files a checkpoint has, without
 * parsing them: `vitkit download` stops here, `loadWeights` goes on to read them.
 */
export async function findWeightFiles(files: CheckpointFiles): Promise<WeightFiles> {
  for (const candidate of WEIGHT_FILES) {
    const path = await files.optional(candidate.file);
    if (path === undefined) continue;
    if (!candidate.sharded) return { format: candidate.format, entry: candidate.file, paths: [path] };
    const shards = await readShardIndex(path, `${files.source}/${candidate.file}`);
    const paths: string[] = [];
    for (const shard of shards) paths.push(await files.required(shard));
    return { format: candidate.format, entry: candidate.file, paths: [path, ...paths] };
  }
  throw new VitkitError(
    'FILE_NOT_FOUND',
    `${files.source} has no weights: looked for ${WEIGHT_FILES.map((w) => w.file).join(', ')}. Is this a Hugging Face transformers checkpoint?`,
  );
}

/** Loads the preferred weight format a checkpoint has into one WeightStore. */
export async function loadWeights(files: CheckpointFiles): Promise<WeightStore> {
  const found = await findWeightFiles(files);
  const where = `${files.source}/${found.entry}`;
  const sharded = found.entry.endsWith('.index.json');
  const tensors = new Map<string, Tensor>();
  for (const path of sharded ? found.paths.slice(1) : found.paths) {
    for (const [name, t] of await readWeightFile(path, found.format, sharded ? `${files.source}/${basename(path)}` : where))
      tensors.set(name, t);
  }
  if (sharded) {
    const weightMap = (await readIndex(found.paths[0], where)).weight_map;
    for (const name of Object.keys(weightMap)) {
      if (!tensors.has(name)) {
        throw new VitkitError(
          'WEIGHTS_MISSING_TENSOR',
          `${where} places "${name}" in ${weightMap[name]}, but that shard has no such tensor.`,
        );
      }
    }
  }
  return new WeightStore(tensors, where);
}

async function readIndex(indexPath: string, where: string): Promise<ShardIndex> {
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
  return index;
}

/** Shard file names in first-use order, each checked to be a plain name inside the checkpoint. */
async function readShardIndex(indexPath: string, where: string): Promise<string[]> {
  const shards = [...new Set(Object.values((await readIndex(indexPath, where)).weight_map))];
  for (const shard of shards) {
    if (typeof shard !== 'string' || shard.includes('..') || shard.startsWith('/') || shard.includes('\\')) {
      throw new VitkitError('WEIGHTS_HEADER_INVALID', `${where} names shard ${JSON.stringify(shard)}, which is not a plain file name.`);
    }
  }
  return shards;
}

async function readWeightFile(path: string, format: WeightFormat, source: string): Promise<Map<string, Tensor>> {
  // A view of the Buffer, not a copy: a checkpoint is hundreds of MB.
  const buffer = await readFile(path);
  const bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  if (format === 'safetensors') return readSafetensors(bytes, source).tensors;
  return readPytorchBin(bytes, source);
}
