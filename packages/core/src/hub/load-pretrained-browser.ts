// Browser side of `loadPretrained`, reached only through platform/browser.ts: fetches a checkpoint
// from a base URL (`https://host/models/dino/`, `/models/dino`, `./dino`) or a Hub id
// (`${endpoint}/${repo}/resolve/${revision}/${file}`). No Node built-ins here, nor anything that
// imports them (load-weights.ts and hub-settings.ts read files and the environment); the weight file
// names (weights/weight-files.ts), names, redirects and timeouts share Node's modules.
import type { RawConfig } from '../config/model-config.js';
import { isVitkitError, VitkitError } from '../errors/vitkit-error.js';
import type { Tensor } from '../tensor/tensor.js';
import { readPytorchBin } from '../weights/pytorch-bin.js';
import { readSafetensors } from '../weights/safetensors.js';
import { MAX_SHARD_INDEX_BYTES, parseShardIndex } from '../weights/shard-index.js';
import { noWeightFilesError, WEIGHT_FILES } from '../weights/weight-files.js';
import { WeightStore } from '../weights/weight-store.js';
import { parseConfigJson } from './config-json.js';
import { DEFAULT_DOWNLOAD_TIMEOUT_MS, fetchFollowing, IdleDeadline, readBodyWithin, StallError } from './hub-fetch.js';
import type { DownloadedCheckpoint, PretrainedFiles, PretrainedOptions } from './load-pretrained-types.js';
import { checkShardName, encodeRepoPath, repoIdProblem, revisionProblem } from './repo-paths.js';
import { checkSideFileSize } from './side-files.js';

export type { DownloadedCheckpoint, PretrainedFiles, PretrainedOptions } from './load-pretrained-types.js';

const DEFAULT_ENDPOINT = 'https://huggingface.co';
const DEFAULT_CACHE = 'vitkit-hub';

/** A checkpoint reachable over HTTP: `fetch(file)` gives its bytes, or undefined when it has no such file. */
interface RemoteCheckpoint {
  source: string;
  /** What each file fetched so far is, by its validator (see `fileValidator`); null when the server gave none. */
  validators: Map<string, string | null>;
  /** Base URL, without a trailing slash. */
  base: string;
  hub: boolean;
  url(file: string): string;
  fetch(file: string): Promise<Uint8Array | undefined>;
}

/**
 * What every family's `fromPretrained` calls, in a browser: the checkpoint's `config.json`,
 * optional `preprocessor_config.json` and weights, fetched from a base URL or the Hugging Face Hub.
 * Hub files are kept in the Cache API (see `browserCache`); base URLs are left to the HTTP cache.
 */
export async function loadPretrained(urlOrId: string, options: PretrainedOptions = {}): Promise<PretrainedFiles> {
  const remote = remoteCheckpoint(urlOrId, options);
  const config = await readJson(remote, 'config.json', true);
  const preprocessorConfig = await readJson(remote, 'preprocessor_config.json', false);
  const weights = await loadRemoteWeights(remote);
  const readFile = async (file: string) => {
    const bytes = await remote.fetch(file);
    if (bytes) checkSideFileSize(`${remote.source}/${file}`, bytes.byteLength);
    return bytes;
  };
  return {
    source: urlOrId,
    dir: remote.base,
    config: config as RawConfig,
    preprocessorConfig,
    weights,
    fingerprint: checkpointFingerprint(remote),
    readFile,
  };
}

/** Fetches everything `loadPretrained` needs (into the Cache API for Hub ids) and returns the URLs. */
export async function downloadPretrained(urlOrId: string, options: PretrainedOptions = {}): Promise<DownloadedCheckpoint> {
  const remote = remoteCheckpoint(urlOrId, options);
  const files = ['config.json'];
  await readJson(remote, 'config.json', true);
  if ((await remote.fetch('preprocessor_config.json')) !== undefined) files.push('preprocessor_config.json');
  const found = await findRemoteWeights(remote);
  files.push(...found.files.map((f) => f.name));
  return { source: urlOrId, dir: remote.base, files: files.map((f) => remote.url(f)) };
}

/** Absolute URLs, and paths that start with `/`, `./` or `../`, are base URLs; anything else must be a Hub id. */
export function isBaseUrl(value: string): boolean {
  return /^[a-zA-Z][a-zA-Z\d+.-]*:/.test(value) || /^(\/|\.{1,2}\/)/.test(value);
}

function remoteCheckpoint(urlOrId: string, options: PretrainedOptions): RemoteCheckpoint {
  const timeoutMs = options.downloadTimeoutMs ?? DEFAULT_DOWNLOAD_TIMEOUT_MS;
  if (!(timeoutMs > 0)) {
    throw new VitkitError('INVALID_ARGUMENT', `downloadTimeoutMs must be a positive number of milliseconds, got ${timeoutMs}.`);
  }
  if (isBaseUrl(urlOrId)) {
    let base: string;
    try {
      base = new URL(urlOrId, globalThis.location?.href).href.replace(/\/+$/, '');
    } catch (cause) {
      throw new VitkitError('INVALID_ARGUMENT', `"${urlOrId}" is not a valid URL.`, { cause });
    }
    const url = (file: string) => `${base}/${encodeRepoPath(file)}`;
    const validators = new Map<string, string | null>();
    const target = { source: urlOrId, hub: false, timeoutMs, validators };
    return { source: urlOrId, base, hub: false, validators, url, fetch: (file) => fetchFile(url(file), file, target, options) };
  }
  const idProblem = repoIdProblem(urlOrId);
  if (idProblem) {
    throw new VitkitError(
      'INVALID_ARGUMENT',
      `"${urlOrId}" is neither a URL (absolute, or starting with "/", "./" or "../") nor a Hub repo id (like "facebook/dinov2-small"): as an id it ${idProblem}.`,
    );
  }
  const endpoint = (options.endpoint || DEFAULT_ENDPOINT).replace(/\/+$/, '');
  let tokenOrigin: string;
  try {
    tokenOrigin = new URL(endpoint).origin;
  } catch (cause) {
    throw new VitkitError('INVALID_ARGUMENT', `The Hub endpoint "${endpoint}" is not a valid URL.`, { cause });
  }
  const revision = options.revision || 'main';
  const revisionIssue = revisionProblem(revision);
  if (revisionIssue) {
    throw new VitkitError('INVALID_ARGUMENT', `The revision ${JSON.stringify(revision)} ${revisionIssue}; use a branch, tag or commit id.`);
  }
  const base = `${endpoint}/${urlOrId}/resolve/${encodeURIComponent(revision)}`;
  const source = `${urlOrId}@${revision}`;
  const url = (file: string) => `${base}/${encodeRepoPath(file)}`;
  const validators = new Map<string, string | null>();
  const target = { source, hub: true, tokenOrigin, timeoutMs, validators };
  return { source, base, hub: true, validators, url, fetch: (file) => fetchFile(url(file), file, target, options) };
}

async function openCache(options: PretrainedOptions, hub: boolean): Promise<Cache | undefined> {
  if (!hub || options.browserCache === false || typeof caches === 'undefined') return undefined;
  try {
    return await caches.open(options.browserCache ?? DEFAULT_CACHE);
  } catch {
    return undefined; // e.g. an insecure context or a storage-blocked iframe: just fetch
  }
}

/** Where a file comes from: its checkpoint, whether that is the Hub (and so gets the token), and the stall limit. */
interface FetchTarget {
  source: string;
  hub: boolean;
  tokenOrigin?: string;
  timeoutMs: number;
  validators: Map<string, string | null>;
}

/** Response headers that say which version of a file this is, kept with Hub files in the Cache API. */
const VALIDATOR_HEADERS = ['x-linked-etag', 'etag', 'last-modified', 'content-length', 'x-repo-commit'] as const;

/**
 * Which version of a file a response holds: the Hub's X-Linked-Etag (an LFS file's sha256), else
 * its ETag, else Last-Modified with the length. null when the server said none of these (or CORS
 * hid them): the file's identity is then unknown.
 */
function fileValidator(headers: Headers): string | null {
  const etag = headers.get('x-linked-etag') ?? headers.get('etag');
  if (etag) return `etag ${etag}`;
  const modified = headers.get('last-modified');
  return modified ? `modified ${modified}; length ${headers.get('content-length') ?? '?'}` : null;
}

/**
 * Names the checkpoint's files by their validators, so a compiled graph can be cached across page
 * loads without hashing the weights; undefined unless every file fetched had one.
 */
function checkpointFingerprint(remote: RemoteCheckpoint): string | undefined {
  const files = [...remote.validators.entries()].sort((a, b) => a[0].localeCompare(b[0]));
  if (files.length === 0 || files.some(([, v]) => v === null)) return undefined;
  return JSON.stringify({ base: remote.base, files });
}

async function fetchFile(url: string, file: string, target: FetchTarget, options: PretrainedOptions): Promise<Uint8Array | undefined> {
  const { source, hub } = target;
  checkShardName(file, source);
  const cache = await openCache(options, hub);
  const cached = await cache?.match(url);
  if (cached) {
    target.validators.set(file, fileValidator(cached.headers));
    return new Uint8Array(await cached.arrayBuffer());
  }
  if (options.localFilesOnly) {
    throw new VitkitError(
      'HUB_OFFLINE_MISS',
      `${file} of ${source} is not in the browser cache and localFilesOnly is set. Load it once online first.`,
    );
  }
  const deadline = new IdleDeadline(target.timeoutMs);
  let bytes: Uint8Array;
  let kept: Headers | undefined;
  try {
    let response: Response;
    try {
      ({ response } = await fetchFollowing(
        url,
        { signal: deadline.signal },
        { token: hub ? options.token : undefined, tokenOrigin: target.tokenOrigin, follow: 'all' },
        `Fetching ${url}`,
      ));
    } catch (cause) {
      if (deadline.fired || isVitkitError(cause)) throw cause;
      throw new VitkitError(
        'HUB_HTTP_ERROR',
        `Could not fetch ${url}: ${(cause as Error)?.message ?? cause}. Check the URL and the network.`,
        {
          cause,
        },
      );
    }
    if (response.status === 404) {
      await response.body?.cancel().catch(() => {});
      return undefined;
    }
    if (response.status === 401 || response.status === 403) {
      await response.body?.cancel().catch(() => {});
      throw new VitkitError(
        'HUB_UNAUTHORIZED',
        `${source} refused ${file} (HTTP ${response.status}). For a gated or private Hub repo pass a token that has access.`,
      );
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => {});
      throw new VitkitError('HUB_HTTP_ERROR', `Fetching ${url} failed with HTTP ${response.status}.`);
    }
    bytes = await readBody(response, file, options, deadline);
    target.validators.set(file, fileValidator(response.headers));
    kept = new Headers({ 'content-type': 'application/octet-stream' });
    for (const name of VALIDATOR_HEADERS) {
      const value = response.headers.get(name);
      if (value !== null) kept.set(name, value);
    }
  } catch (error) {
    if (deadline.fired) {
      throw new VitkitError(
        'HUB_TIMEOUT',
        `${url} sent nothing for ${target.timeoutMs / 1000} s. Check the connection and try again; on a slow link raise downloadTimeoutMs.`,
        { cause: error },
      );
    }
    throw error;
  } finally {
    deadline.stop();
  }
  if (cache) {
    // Stored only once complete, so a cache never holds half a file.
    await cache.put(url, new Response(bytes as Uint8Array<ArrayBuffer>, { headers: kept })).catch(() => {});
  }
  return bytes;
}

async function readBody(response: Response, file: string, options: PretrainedOptions, deadline: IdleDeadline): Promise<Uint8Array> {
  const length = Number(response.headers.get('content-length'));
  const total = Number.isFinite(length) && length > 0 ? length : undefined;
  options.onProgress?.({ file, loaded: 0, total });
  try {
    return await readBodyWithin(response, deadline, (loaded) => options.onProgress?.({ file, loaded, total }));
  } catch (cause) {
    if (deadline.fired || cause instanceof StallError) throw cause;
    // A connection cut mid-body (fewer bytes than Content-Length): fetch reports a TypeError.
    throw new VitkitError(
      'HUB_DOWNLOAD_INTERRUPTED',
      `Downloading ${file} from ${response.url || 'its URL'} stopped part-way (${(cause as Error)?.message ?? cause}). Check the connection and try again.`,
      { cause },
    );
  }
}

async function readJson(remote: RemoteCheckpoint, file: string, required: true): Promise<RawConfig>;
async function readJson(remote: RemoteCheckpoint, file: string, required: false): Promise<RawConfig | undefined>;
async function readJson(remote: RemoteCheckpoint, file: string, required: boolean): Promise<RawConfig | undefined> {
  const bytes = await remote.fetch(file);
  if (bytes === undefined) {
    if (required) throw missing(remote, file);
    return undefined;
  }
  return parseConfigJson(bytes, `${remote.source}/${file}`);
}

function missing(remote: RemoteCheckpoint, file: string): VitkitError {
  return remote.hub
    ? new VitkitError('HUB_NOT_FOUND', `The Hub has no ${file} in ${remote.source}.`)
    : new VitkitError(
        'FILE_NOT_FOUND',
        `${remote.url(file)} was not found (HTTP 404). Is ${remote.source} the folder the checkpoint is served from?`,
      );
}

interface RemoteWeights {
  format: 'safetensors' | 'pytorch';
  entry: string;
  sharded: boolean;
  /** The entry file (for sharded checkpoints, the index) and each shard, with their bytes. */
  files: { name: string; bytes: Uint8Array }[];
}

async function findRemoteWeights(remote: RemoteCheckpoint): Promise<RemoteWeights> {
  for (const candidate of WEIGHT_FILES) {
    const bytes = await remote.fetch(candidate.file);
    if (bytes === undefined) continue;
    const files: RemoteWeights['files'] = [{ name: candidate.file, bytes }];
    if (candidate.sharded) {
      for (const shard of shardNames(bytes, `${remote.source}/${candidate.file}`)) {
        const shardBytes = await remote.fetch(shard);
        if (shardBytes === undefined) throw missing(remote, shard);
        files.push({ name: shard, bytes: shardBytes });
      }
    }
    return { format: candidate.format, entry: candidate.file, sharded: candidate.sharded, files };
  }
  throw noWeightFilesError(remote.source);
}

/** The shard files an index names: the index read as in Node (`parseShardIndex`), each name held to the one shard-name rule. */
function shardNames(bytes: Uint8Array, where: string): string[] {
  if (bytes.byteLength > MAX_SHARD_INDEX_BYTES) {
    throw new VitkitError(
      'WEIGHTS_HEADER_TOO_LARGE',
      `${where} has ${bytes.byteLength} bytes, more than any shard index; the file is corrupt.`,
    );
  }
  const shards = [...new Set(parseShardIndex(new TextDecoder().decode(bytes), where).values())];
  for (const shard of shards) checkShardName(shard, where);
  return shards;
}

async function loadRemoteWeights(remote: RemoteCheckpoint): Promise<WeightStore> {
  const found = await findRemoteWeights(remote);
  const where = `${remote.source}/${found.entry}`;
  const tensors = new Map<string, Tensor>();
  for (const { name, bytes } of found.sharded ? found.files.slice(1) : found.files) {
    const label = found.sharded ? `${remote.source}/${name}` : where;
    const read = found.format === 'safetensors' ? readSafetensors(bytes, label).tensors : readPytorchBin(bytes, label);
    for (const [key, t] of read) tensors.set(key, t);
  }
  if (found.sharded) {
    for (const [key, shard] of parseShardIndex(new TextDecoder().decode(found.files[0].bytes), where)) {
      if (!tensors.has(key)) {
        throw new VitkitError('WEIGHTS_MISSING_TENSOR', `${where} places "${key}" in ${shard}, but that shard has no such tensor.`);
      }
    }
  }
  return new WeightStore(tensors, where);
}
