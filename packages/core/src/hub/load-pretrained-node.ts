// Node side of `loadPretrained` / `downloadPretrained`, reached only through platform/node.ts (so never
// from a browser bundle): local folders, and Hub downloads into the Hugging Face cache layout.
// Import the public ones from load-pretrained.ts, which route through '#platform'.
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { RawConfig } from '../config/model-config.js';
import { VitkitError } from '../errors/vitkit-error.js';
import { type CheckpointFiles, findWeightFiles, loadWeights } from '../weights/load-weights.js';
import { parseConfigJson } from './config-json.js';
import { hubCheckpointFiles } from './hub-files.js';
import { checkRepoId, resolveHubSettings } from './hub-settings.js';
import type { DownloadedCheckpoint, PretrainedFiles, PretrainedOptions } from './load-pretrained-types.js';
import { isDirectory, localFolderFiles } from './local-folder.js';
import { repoFileProblem } from './repo-paths.js';
import { checkSideFileSize } from './side-files.js';

export type { DownloadedCheckpoint, PretrainedFiles, PretrainedOptions } from './load-pretrained-types.js';

/**
 * What every family's `fromPretrained` calls: resolves a local folder or a Hub id to its config,
 * optional preprocessor config and weights. Hub files land in the Hugging Face cache, shared with
 * Python's huggingface_hub.
 */
export async function loadPretrained(idOrPath: string, options: PretrainedOptions = {}): Promise<PretrainedFiles> {
  const files = await checkpointFiles(idOrPath, options);
  const { configPath, config, preprocessorConfig } = await readConfigs(files);
  const found = await findWeightFiles(files);
  const weights = await loadWeights(files, found);
  const fingerprint = await fingerprintOf(config, found.paths);
  const readSideFile = (file: string) => sideFile(files, file);
  return { source: idOrPath, dir: dirname(configPath), config, preprocessorConfig, weights, fingerprint, readFile: readSideFile };
}

/** A small optional file of the checkpoint (downloaded into the cache on first use for Hub ids). */
async function sideFile(files: CheckpointFiles, file: string): Promise<Uint8Array | undefined> {
  const problem = repoFileProblem(file);
  if (problem) throw new VitkitError('INVALID_ARGUMENT', `The checkpoint file name ${JSON.stringify(file)} ${problem}.`);
  const path = await files.optional(file);
  if (path === undefined) return undefined;
  checkSideFileSize(`${files.source}/${file}`, (await stat(path)).size);
  return new Uint8Array(await readFile(path));
}

/** Config and weight-file identity (path, size, mtime), as build tools tell a changed input from an unchanged one. */
async function fingerprintOf(config: RawConfig, paths: string[]): Promise<string> {
  const hash = createHash('sha256').update(JSON.stringify(config));
  for (const path of paths) {
    const s = await stat(path);
    hash.update(JSON.stringify([path, s.size, s.mtimeMs, s.ino]));
  }
  return hash.digest('hex');
}

/**
 * Fetches everything `loadPretrained` needs into the cache without parsing the weights, for
 * `vitkit download` and for warming a cache before going offline.
 */
export async function downloadPretrained(idOrPath: string, options: PretrainedOptions = {}): Promise<DownloadedCheckpoint> {
  const files = await checkpointFiles(idOrPath, options);
  const configPath = await files.required('config.json');
  const preprocessorPath = await files.optional('preprocessor_config.json');
  const weights = await findWeightFiles(files);
  const paths = [configPath, ...(preprocessorPath ? [preprocessorPath] : []), ...weights.paths];
  return { source: idOrPath, dir: dirname(configPath), files: paths };
}

async function checkpointFiles(idOrPath: string, options: PretrainedOptions): Promise<CheckpointFiles> {
  if (await isDirectory(idOrPath)) return localFolderFiles(idOrPath);
  if (looksLikePath(idOrPath)) {
    throw new VitkitError(
      'FILE_NOT_FOUND',
      `No checkpoint folder at ${idOrPath}. Check the path (Hub ids look like "facebook/dinov2-small").`,
    );
  }
  checkRepoId(idOrPath);
  return hubCheckpointFiles(idOrPath, resolveHubSettings(options));
}

/** Paths are told from Hub ids (`org/name`) by their shape: relative markers, roots, or deeper nesting. */
function looksLikePath(value: string): boolean {
  return /^(\.{1,2}[/\\]|[/\\~]|[a-zA-Z]:[/\\])/.test(value) || value.includes('\\') || value.split('/').length > 2;
}

async function readConfigs(files: CheckpointFiles): Promise<{ configPath: string; config: RawConfig; preprocessorConfig?: RawConfig }> {
  const configPath = await files.required('config.json');
  const config = await readJson(configPath, `${files.source}/config.json`);
  const preprocessorPath = await files.optional('preprocessor_config.json');
  const preprocessorConfig =
    preprocessorPath === undefined ? undefined : await readJson(preprocessorPath, `${files.source}/preprocessor_config.json`);
  return { configPath, config, preprocessorConfig };
}

async function readJson(path: string, label: string): Promise<RawConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new VitkitError('CONFIG_INVALID', `${label} could not be read: ${(cause as Error).message}`, { cause });
  }
  return parseConfigJson(text, label);
}
