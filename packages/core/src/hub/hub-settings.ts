import { homedir } from 'node:os';
import { join } from 'node:path';
import { VitkitError } from '../errors/vitkit-error.js';
import { DEFAULT_DOWNLOAD_TIMEOUT_MS, DEFAULT_ETAG_TIMEOUT_MS } from './hub-fetch.js';
import { repoIdProblem } from './repo-paths.js';

export const DEFAULT_ENDPOINT = 'https://huggingface.co';
export const DEFAULT_REVISION = 'main';

/** Everything a Hub download needs to know, resolved once from options and the environment. */
export interface HubSettings {
  endpoint: string;
  cacheDir: string;
  revision: string;
  offline: boolean;
  token?: string;
  /** How long the metadata request (HEAD) may take in all. */
  etagTimeoutMs: number;
  /** How long a download may go without a byte arriving (before the headers, or between chunks). */
  downloadTimeoutMs: number;
  /** First wait between download attempts (doubling); not an option, only tests that run many shorten it. */
  retryBaseMs?: number;
  onProgress?: (p: { file: string; loaded: number; total?: number }) => void;
}

export interface HubSettingsInput {
  revision?: string;
  cacheDir?: string;
  localFilesOnly?: boolean;
  token?: string;
  endpoint?: string;
  etagTimeoutMs?: number;
  downloadTimeoutMs?: number;
  onProgress?: HubSettings['onProgress'];
}

/**
 * Options win over environment variables, which win over defaults, with the variable names and
 * precedence huggingface_hub uses, so a cache and a login shared with Python just work.
 */
export function resolveHubSettings(options: HubSettingsInput, env: NodeJS.ProcessEnv = process.env): HubSettings {
  const hfHome = env.HF_HOME || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'huggingface');
  const cacheDir = options.cacheDir || env.HF_HUB_CACHE || env.HUGGINGFACE_HUB_CACHE || join(hfHome, 'hub');
  const endpoint = checkEndpoint((options.endpoint || env.HF_ENDPOINT || DEFAULT_ENDPOINT).replace(/\/+$/, ''));
  return {
    endpoint,
    cacheDir,
    revision: options.revision || DEFAULT_REVISION,
    offline: options.localFilesOnly === true || isTruthy(env.HF_HUB_OFFLINE) || isTruthy(env.TRANSFORMERS_OFFLINE),
    token: options.token || env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN || undefined,
    etagTimeoutMs: timeoutMs(
      'etagTimeoutMs',
      options.etagTimeoutMs,
      'HF_HUB_ETAG_TIMEOUT',
      env.HF_HUB_ETAG_TIMEOUT,
      DEFAULT_ETAG_TIMEOUT_MS,
    ),
    downloadTimeoutMs: timeoutMs(
      'downloadTimeoutMs',
      options.downloadTimeoutMs,
      'HF_HUB_DOWNLOAD_TIMEOUT',
      env.HF_HUB_DOWNLOAD_TIMEOUT,
      DEFAULT_DOWNLOAD_TIMEOUT_MS,
    ),
    onProgress: options.onProgress,
  };
}

/** The option (milliseconds), else the variable (seconds, as huggingface_hub reads it), else the default. */
function timeoutMs(option: string, value: number | undefined, variable: string, seconds: string | undefined, fallback: number): number {
  if (value !== undefined) {
    if (!(value > 0)) throw new VitkitError('INVALID_ARGUMENT', `${option} must be a positive number of milliseconds, got ${value}.`);
    return value;
  }
  if (seconds === undefined || seconds.trim() === '') return fallback;
  const parsed = Number(seconds);
  // huggingface_hub reads 0 as "unset" too.
  if (parsed === 0) return fallback;
  if (!(parsed > 0)) throw new VitkitError('INVALID_ARGUMENT', `${variable} must be a positive number of seconds, got "${seconds}".`);
  return parsed * 1000;
}

/** An http(s) URL, so a typo in HF_ENDPOINT fails here rather than as "cannot reach the Hub". */
function checkEndpoint(endpoint: string): string {
  let url: URL | undefined;
  try {
    url = new URL(endpoint);
  } catch {
    url = undefined;
  }
  if (url?.protocol !== 'http:' && url?.protocol !== 'https:') {
    throw new VitkitError('INVALID_ARGUMENT', `The Hub endpoint "${endpoint}" (endpoint option or HF_ENDPOINT) is not an http(s) URL.`);
  }
  return endpoint;
}

/** huggingface_hub's reading of boolean variables. */
function isTruthy(value: string | undefined): boolean {
  return value !== undefined && ['1', 'on', 'yes', 'true'].includes(value.trim().toLowerCase());
}

/** `org/name` or a bare `name` (repo-paths.ts has the rule); refuses anything path-like. */
export function checkRepoId(repoId: string): void {
  const problem = repoIdProblem(repoId);
  if (problem) {
    throw new VitkitError(
      'INVALID_ARGUMENT',
      `"${repoId}" is neither an existing folder nor a Hub repo id (like "facebook/dinov2-small"): as an id it ${problem}. Check the path, or the spelling of the id.`,
    );
  }
}
