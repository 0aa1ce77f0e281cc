import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isVitkitError } from '../errors/vitkit-error.js';
import { checkRepoId, resolveHubSettings } from './hub-settings.js';

describe('resolveHubSettings', () => {
  it('defaults to huggingface.co, main and ~/.cache/huggingface/hub', () => {
    const s = resolveHubSettings({}, {});
    expect(s).toMatchObject({
      endpoint: 'https://huggingface.co',
      revision: 'main',
      offline: false,
      cacheDir: join(homedir(), '.cache', 'huggingface', 'hub'),
    });
    expect(s.token).toBeUndefined();
  });

  it('reads HF_HUB_CACHE over HF_HOME/hub over XDG_CACHE_HOME/huggingface/hub', () => {
    expect(resolveHubSettings({}, { XDG_CACHE_HOME: '/x' }).cacheDir).toBe('/x/huggingface/hub');
    expect(resolveHubSettings({}, { XDG_CACHE_HOME: '/x', HF_HOME: '/h' }).cacheDir).toBe('/h/hub');
    expect(resolveHubSettings({}, { HF_HOME: '/h', HF_HUB_CACHE: '/c' }).cacheDir).toBe('/c');
    expect(resolveHubSettings({ cacheDir: '/o' }, { HF_HUB_CACHE: '/c' }).cacheDir).toBe('/o');
  });

  it('reads HF_ENDPOINT (without a trailing slash) and HF_TOKEN, options first', () => {
    const env = { HF_ENDPOINT: 'https://mirror.example/', HF_TOKEN: 'hf_env' };
    expect(resolveHubSettings({}, env)).toMatchObject({ endpoint: 'https://mirror.example', token: 'hf_env' });
    expect(resolveHubSettings({ endpoint: 'http://127.0.0.1:1', token: 'hf_opt' }, env)).toMatchObject({
      endpoint: 'http://127.0.0.1:1',
      token: 'hf_opt',
    });
  });

  it('treats HF_HUB_OFFLINE=1/true/yes/on as offline and 0/empty as online', () => {
    for (const v of ['1', 'true', 'YES', 'on']) expect(resolveHubSettings({}, { HF_HUB_OFFLINE: v }).offline, v).toBe(true);
    for (const v of ['0', '', 'false']) expect(resolveHubSettings({}, { HF_HUB_OFFLINE: v }).offline, v).toBe(false);
    expect(resolveHubSettings({ localFilesOnly: true }, {}).offline).toBe(true);
  });
});

describe('checkRepoId', () => {
  it('accepts org/name and bare names', () => {
    for (const id of ['facebook/dinov2-small', 'gpt2', 'org/model.v1_2']) expect(() => checkRepoId(id), id).not.toThrow();
  });

  it('refuses path-like or malformed ids', () => {
    for (const id of ['a/b/c', '../etc', 'org/..', 'bad id', 'org/-x', '', 'org/name/']) {
      let error: unknown;
      try {
        checkRepoId(id);
      } catch (e) {
        error = e;
      }
      expect(isVitkitError(error, 'INVALID_ARGUMENT'), id).toBe(true);
    }
  });
});
