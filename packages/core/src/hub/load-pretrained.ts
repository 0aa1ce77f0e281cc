import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { RawConfig } from '../config/model-config.js';
import { VitkitError } from '../errors/vitkit-error.js';
import { type CheckpointFiles, loadWeights } from '../weights/load-weights.js';
import type { WeightStore } from '../weights/weight-store.js';
import { isDirectory, localFolderFiles } from './local-folder.js';

export interface PretrainedOptions {
  /** Branch, tag or commit on the Hub (default `main`). Ignored for local folders. */
  revision?: string;
  /** Hub cache root; default `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`. */
  cacheDir?: string;
  /** Use only what is already cached (also forced by `HF_HUB_OFFLINE=1`). */
  localFilesOnly?: boolean;
  /** Hub access token; default `$HF_TOKEN`. */
  token?: string;
  /** Called as each file downloads. */
  onProgress?: (p: { file: string; loaded: number; total?: number }) => void;
  /** Hub base URL; default `$HF_ENDPOINT`, else https://huggingface.co. */
  endpoint?: string;
}

export interface PretrainedFiles {
  /** The folder path or Hub id the checkpoint came from. */
  source: string;
  /** The folder holding the checkpoint files (for the Hub: the cache snapshot folder). */
  dir: string;
  config: RawConfig;
  preprocessorConfig?: RawConfig;
  weights: WeightStore;
}

/**
 * What every family's `fromPretrained` calls: resolves a local folder or a Hub id to its config,
 * optional preprocessor config and weights.
 */
export async function loadPretrained(idOrPath: string, options: PretrainedOptions = {}): Promise<PretrainedFiles> {
  if (await isDirectory(idOrPath)) {
    return loadCheckpoint(localFolderFiles(idOrPath), idOrPath);
  }
  throw new VitkitError(
    'HUB_NOT_FOUND',
    `${idOrPath} is not a local folder, and Hub downloads are not wired up yet (options: ${JSON.stringify(Object.keys(options))}).`,
  );
}

async function loadCheckpoint(files: CheckpointFiles, source: string): Promise<PretrainedFiles> {
  const configPath = await files.required('config.json');
  const config = await readJson(configPath, `${files.source}/config.json`);
  const preprocessorPath = await files.optional('preprocessor_config.json');
  const preprocessorConfig =
    preprocessorPath === undefined ? undefined : await readJson(preprocessorPath, `${files.source}/preprocessor_config.json`);
  const weights = await loadWeights(files);
  return { source, dir: dirname(configPath), config, preprocessorConfig, weights };
}

async function readJson(path: string, label: string): Promise<RawConfig> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, 'utf8'));
  } catch (cause) {
    throw new VitkitError('CONFIG_INVALID', `${label} is not valid JSON.`, { cause });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new VitkitError('CONFIG_INVALID', `${label} must hold a JSON object.`);
  }
  return value as RawConfig;
}
