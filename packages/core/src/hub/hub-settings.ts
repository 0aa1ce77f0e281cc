import { homedir } from 'node:os';
import { join } from 'node:path';
import { VitkitError } from '../errors/vitkit-error.js';

export const DEFAULT_ENDPOINT = 'https://huggingface.co';
export const DEFAULT_REVISION = 'main';

/** Everything a Hub download needs to know, resolved once from options and the environment. */
export interface HubSettings {
  endpoint: string;
  cacheDir: string;
  revision: string;
  offline: boolean;
  token?: string;
  onProgress?: (p: { file: string; loaded: number; total?: number }) => void;
}

export interface HubSettingsInput {
  revision?: string;
  cacheDir?: string;
  localFilesOnly?: boolean;
  token?: string;
  endpoint?: string;
  onProgress?: HubSettings['onProgress'];
}

/**
 * Options win over environment variables, which win over defaults, with the variable names and
 * precedence huggingface_hub uses, so a cache and a login shared with Python just work.
 */
export function resolveHubSettings(options: HubSettingsInput, env: NodeJS.ProcessEnv = process.env): HubSettings {
  const hfHome = env.HF_HOME || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'huggingface');
  const cacheDir = options.cacheDir || env.HF_HUB_CACHE || env.HUGGINGFACE_HUB_CACHE || join(hfHome, 'hub');
  const endpoint = (options.endpoint || env.HF_ENDPOINT || DEFAULT_ENDPOINT).replace(/\/+$/, '');
  return {
    endpoint,
    cacheDir,
    revision: options.revision || DEFAULT_REVISION,
    offline: options.localFilesOnly === true || isTruthy(env.HF_HUB_OFFLINE) || isTruthy(env.TRANSFORMERS_OFFLINE),
    token: options.token || env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN || undefined,
    onProgress: options.onProgress,
  };
}

/** huggingface_hub's reading of boolean variables. */
function isTruthy(value: string | undefined): boolean {
  return value !== undefined && ['1', 'on', 'yes', 'true'].includes(value.trim().toLowerCase());
}

/** `org/name` or a bare `name`, with the characters the Hub allows; refuses anything path-like. */
export function checkRepoId(repoId: string): void {
  const ok =
    /^(?:[\w.-]+\/)?[\w.-]+$/.test(repoId) && !repoId.includes('..') && !/(^|\/)[.-]|[.-]($|\/)/.test(repoId) && repoId.length <= 96;
  if (!ok) {
    throw new VitkitError(
      'INVALID_ARGUMENT',
      `"${repoId}" is neither an existing folder nor a Hub repo id (like "facebook/dinov2-small"). Check the path, or the spelling of the id.`,
    );
  }
}
