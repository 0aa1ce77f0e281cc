import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { VitkitError } from '../errors/vitkit-error.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ByteSource } from './byte-source.js';
import { fileSource } from './file-source.js';
import { openPytorchBin } from './pytorch-bin.js';
import { readSafetensorsHeader, type SafetensorsEntry, safetensorsHeaderEnd, safetensorsTensor } from './safetensors.js';
import { MAX_SHARD_INDEX_BYTES, parseShardIndex } from './shard-index.js';
import { noWeightFilesError, WEIGHT_FILES, type WeightFormat } from './weight-files.js';
import { type WeightInfo, WeightStore } from './weight-store.js';

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

export { WEIGHT_FILES } from './weight-files.js';

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
  throw noWeightFilesError(files.source);
}

/**
 * Loads the preferred weight format a checkpoint has into one WeightStore. Only the headers are
 * read here (safetensors headers; a .bin archive's directory and pickle), each checked against its
 * file's size; tensor data is read by range on `get` and never kept by the store (a cached compiled
 * graph never needs it), so no file is ever held whole and files over 2 GiB load.
 */
export async function loadWeights(files: CheckpointFiles, found?: WeightFiles): Promise<WeightStore> {
  found ??= await findWeightFiles(files);
  const where = `${files.source}/${found.entry}`;
  const sharded = found.entry.endsWith('.index.json');
  const shards = (sharded ? found.paths.slice(1) : found.paths).map((path) =>
    fileSource(path, sharded ? `${files.source}/${basename(path)}` : where),
  );
  const info = new Map<string, WeightInfo>();
  const readers = new Map<string, (name: string) => Tensor>();
  for (const file of shards) {
    const read = found.format === 'safetensors' ? openSafetensors(file) : openPytorchBin(file);
    for (const [name, e] of read.info) {
      info.set(name, e);
      readers.set(name, read.read);
    }
  }
  const store = WeightStore.onDemand(info, (name) => readers.get(name)?.(name), where);
  if (sharded) {
    const weightMap = await readIndex(found.paths[0], where);
    for (const [name, shard] of weightMap) {
      if (!store.has(name)) {
        throw new VitkitError('WEIGHTS_MISSING_TENSOR', `${where} places "${name}" in ${shard}, but that shard has no such tensor.`);
      }
    }
  }
  return store;
}

/** A safetensors file's header, read and checked against the file's size; each tensor read by range. */
function openSafetensors(file: ByteSource): { info: ReadonlyMap<string, SafetensorsEntry>; read(name: string): Tensor } {
  const headerEnd = safetensorsHeaderEnd(file.read(0, Math.min(8, file.size)), file.size, file.source);
  const { entries } = readSafetensorsHeader(file.read(0, headerEnd), file.size, file.source);
  return {
    info: entries,
    read(name) {
      const e = entries.get(name) as SafetensorsEntry;
      return safetensorsTensor(e, file.read(e.start, e.end - e.start));
    },
  };
}

async function readIndex(indexPath: string, where: string): Promise<Map<string, string>> {
  let text: string;
  try {
    const { size } = await stat(indexPath);
    if (size > MAX_SHARD_INDEX_BYTES) {
      throw new VitkitError('WEIGHTS_HEADER_TOO_LARGE', `${where} has ${size} bytes, more than any shard index; the file is corrupt.`);
    }
    text = await readFile(indexPath, 'utf8');
  } catch (cause) {
    if (cause instanceof VitkitError) throw cause;
    throw new VitkitError('FILE_NOT_FOUND', `${where} could not be read: ${(cause as Error).message}`, { cause });
  }
  return parseShardIndex(text, where);
}

/** Shard file names in first-use order, each checked to be a plain name inside the checkpoint. */
async function readShardIndex(indexPath: string, where: string): Promise<string[]> {
  const shards = [...new Set((await readIndex(indexPath, where)).values())];
  for (const shard of shards) {
    if (typeof shard !== 'string' || shard.includes('..') || shard.startsWith('/') || shard.includes('\\')) {
      throw new VitkitError('WEIGHTS_HEADER_INVALID', `${where} names shard ${JSON.stringify(shard)}, which is not a plain file name.`);
    }
  }
  return shards;
}
