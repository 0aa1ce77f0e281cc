import { readFileSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { VitkitError } from '../errors/vitkit-error.js';
import type { Tensor } from '../tensor/tensor.js';
import { readPytorchBin } from './pytorch-bin.js';
import { readSafetensorsHeader, type SafetensorsHeader, safetensorsHeaderEnd, safetensorsTensors } from './safetensors.js';
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

/**
 * Loads the preferred weight format a checkpoint has into one WeightStore. Safetensors files are
 * checked header-first and their data read on first use (a cached compiled graph never needs it);
 * pytorch_model.bin is read whole, since its index lives inside the pickle.
 */
export async function loadWeights(files: CheckpointFiles, found?: WeightFiles): Promise<WeightStore> {
  found ??= await findWeightFiles(files);
  const where = `${files.source}/${found.entry}`;
  const sharded = found.entry.endsWith('.index.json');
  const shards = (sharded ? found.paths.slice(1) : found.paths).map((path) => ({
    path,
    source: sharded ? `${files.source}/${basename(path)}` : where,
  }));
  let store: WeightStore;
  if (found.format === 'safetensors') {
    const headers = await Promise.all(shards.map(async (s) => ({ ...s, ...(await readHeader(s.path, s.source)) })));
    const info = new Map<string, WeightInfo>();
    for (const h of headers) for (const [name, e] of h.header.entries) info.set(name, e);
    store = WeightStore.deferred(info, () => readDeferredData(headers), where);
  } else {
    const tensors = new Map<string, Tensor>();
    for (const s of shards) for (const [name, t] of readPytorchBin(await readBytes(s.path), s.source)) tensors.set(name, t);
    store = new WeightStore(tensors, where);
  }
  if (sharded) {
    const weightMap = (await readIndex(found.paths[0], where)).weight_map;
    for (const name of Object.keys(weightMap)) {
      if (!store.has(name)) {
        throw new VitkitError(
          'WEIGHTS_MISSING_TENSOR',
          `${where} places "${name}" in ${weightMap[name]}, but that shard has no such tensor.`,
        );
      }
    }
  }
  return store;
}

/** A safetensors file's header, read and checked against the file's size without reading its data. */
async function readHeader(path: string, source: string): Promise<{ header: SafetensorsHeader; size: number }> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const prefix = new Uint8Array(Math.min(8, size));
    await handle.read(prefix, 0, prefix.byteLength, 0);
    const headerEnd = safetensorsHeaderEnd(prefix, size, source);
    const bytes = new Uint8Array(headerEnd);
    await handle.read(bytes, 0, headerEnd, 0);
    return { header: readSafetensorsHeader(bytes, size, source), size };
  } finally {
    await handle.close();
  }
}

/** Reads each file whole (synchronously: `WeightStore.get` is) and views its tensors. */
function readDeferredData(files: { path: string; source: string; header: SafetensorsHeader; size: number }[]): Map<string, Tensor> {
  const tensors = new Map<string, Tensor>();
  for (const f of files) {
    let bytes: Uint8Array;
    try {
      const buffer = readFileSync(f.path);
      bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    } catch (cause) {
      throw new VitkitError('FILE_NOT_FOUND', `${f.source} could not be read: ${(cause as Error).message}`, { cause });
    }
    if (bytes.byteLength !== f.size) {
      throw new VitkitError(
        'WEIGHTS_TRUNCATED',
        `${f.source} changed size since it was opened (${f.size} → ${bytes.byteLength} bytes); load the checkpoint again.`,
      );
    }
    for (const [name, t] of safetensorsTensors(f.header, bytes)) tensors.set(name, t);
  }
  return tensors;
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

async function readBytes(path: string): Promise<Uint8Array> {
  // A view of the Buffer, not a copy: a checkpoint is hundreds of MB.
  const buffer = await readFile(path);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}
