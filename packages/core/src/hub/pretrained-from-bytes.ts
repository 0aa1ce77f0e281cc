// A checkpoint whose files are already in memory: picked by the user (File System Access, drag and
// drop, <input type=file>), or sent to a worker. Platform-neutral: no fetch, no fs.
import type { RawConfig } from '../config/model-config.js';
import { VitkitError } from '../errors/vitkit-error.js';
import type { Tensor } from '../tensor/tensor.js';
import { readPytorchBin } from '../weights/pytorch-bin.js';
import { readSafetensors } from '../weights/safetensors.js';
import { MAX_SHARD_INDEX_BYTES, parseShardIndex } from '../weights/shard-index.js';
import { noWeightFilesError, WEIGHT_FILES } from '../weights/weight-files.js';
import { WeightStore } from '../weights/weight-store.js';
import { parseConfigJson } from './config-json.js';
import type { PretrainedFiles } from './load-pretrained-types.js';
import { checkShardName } from './repo-paths.js';

/**
 * A checkpoint from its files' bytes, by file name (`config.json`, optional
 * `preprocessor_config.json`, and `model.safetensors`, `pytorch_model.bin` or a sharded index with
 * its shards), read as `loadPretrained` reads a folder. `source` names it in errors and in
 * `PretrainedFiles.source`. Names may carry a folder prefix (`dinov2-small/config.json`, as a
 * picked directory gives them); the shortest path of each name wins.
 */
export function pretrainedFromBytes(
  files: ReadonlyMap<string, Uint8Array> | Readonly<Record<string, Uint8Array>>,
  source = 'local files',
): PretrainedFiles {
  const byName = new Map<string, Uint8Array>();
  const entries = files instanceof Map ? [...files.entries()] : Object.entries(files);
  // Shallowest first, so a nested copy never shadows the checkpoint's own file.
  entries.sort((a, b) => a[0].split('/').length - b[0].split('/').length);
  for (const [path, bytes] of entries) {
    if (!(bytes instanceof Uint8Array)) {
      throw new VitkitError('INVALID_ARGUMENT', `${source}: "${path}" must be given as a Uint8Array of the file's bytes.`);
    }
    const name = path.slice(path.lastIndexOf('/') + 1);
    if (!byName.has(name)) byName.set(name, bytes);
  }
  const configBytes = byName.get('config.json');
  if (!configBytes) {
    throw new VitkitError(
      'FILE_NOT_FOUND',
      `${source} has no config.json (got ${[...byName.keys()].join(', ') || 'no files'}); pick the checkpoint's folder or all of its files.`,
    );
  }
  const config = parseConfigJson(configBytes, `${source}/config.json`);
  const preprocessorBytes = byName.get('preprocessor_config.json');
  const preprocessorConfig: RawConfig | undefined = preprocessorBytes
    ? parseConfigJson(preprocessorBytes, `${source}/preprocessor_config.json`)
    : undefined;
  // Side files (a tokenizer's vocab.txt, …) by their name in the checkpoint, as loadPretrained's readFile.
  const readFile = async (file: string) => byName.get(file);
  return { source, dir: source, config, preprocessorConfig, weights: readWeights(byName, source), readFile };
}

function readWeights(byName: ReadonlyMap<string, Uint8Array>, source: string): WeightStore {
  const found = WEIGHT_FILES.find((w) => byName.has(w.file));
  if (!found) {
    throw noWeightFilesError(source);
  }
  const entry = byName.get(found.file) as Uint8Array;
  const where = `${source}/${found.file}`;
  const read = (bytes: Uint8Array, label: string) =>
    found.format === 'safetensors' ? readSafetensors(bytes, label).tensors : readPytorchBin(bytes, label);
  if (!found.sharded) return new WeightStore(read(entry, where), where);
  if (entry.byteLength > MAX_SHARD_INDEX_BYTES) {
    throw new VitkitError(
      'WEIGHTS_HEADER_TOO_LARGE',
      `${where} has ${entry.byteLength} bytes, more than any shard index; the file is corrupt.`,
    );
  }
  const index = parseShardIndex(new TextDecoder().decode(entry), where);
  const tensors = new Map<string, Tensor>();
  for (const shard of new Set(index.values())) {
    checkShardName(shard, where);
    const bytes = byName.get(shard);
    if (!bytes) throw new VitkitError('FILE_NOT_FOUND', `${where} names the shard ${shard}, which is not among the files given.`);
    for (const [key, t] of read(bytes, `${source}/${shard}`)) tensors.set(key, t);
  }
  for (const [key, shard] of index) {
    if (!tensors.has(key)) {
      throw new VitkitError('WEIGHTS_MISSING_TENSOR', `${where} places "${key}" in ${shard}, but that shard has no such tensor.`);
    }
  }
  return new WeightStore(tensors, where);
}
