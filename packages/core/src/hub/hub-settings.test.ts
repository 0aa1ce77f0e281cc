import { homedir } from 'node:os';
import { join } from 'node:path';
import { errorOf } from '@vitkit/test-support';
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

  it('reads HF_HUB_ETAG_TIMEOUT / HF_HUB_DOWNLOAD_TIMEOUT in seconds, options in milliseconds, 10 s by default', () => {
    expect(resolveHubSettings({}, {})).toMatchObject({ etagTimeoutMs: 10_000, downloadTimeoutMs: 10_000 });
    const env = { HF_HUB_ETAG_TIMEOUT: '2.5', HF_HUB_DOWNLOAD_TIMEOUT: '30' };
    expect(resolveHubSettings({}, env)).toMatchObject({ etagTimeoutMs: 2_500, downloadTimeoutMs: 30_000 });
    expect(resolveHubSettings({ etagTimeoutMs: 5, downloadTimeoutMs: 6 }, env)).toMatchObject({ etagTimeoutMs: 5, downloadTimeoutMs: 6 });
    // huggingface_hub reads 0 as unset.
    expect(resolveHubSettings({}, { HF_HUB_ETAG_TIMEOUT: '0' }).etagTimeoutMs).toBe(10_000);
    for (const bad of [{ HF_HUB_ETAG_TIMEOUT: 'soon' }, { HF_HUB_DOWNLOAD_TIMEOUT: '-3' }]) {
      expect(
        isVitkitError(
          errorOf(() => resolveHubSettings({}, bad)),
          'INVALID_ARGUMENT',
        ),
        JSON.stringify(bad),
      ).toBe(true);
    }
  });

  it('refuses an endpoint that is not an http(s) URL', () => {
    for (const endpoint of ['huggingface.co', 'ftp://mirror', 'http://[::1']) {
      expect(
        isVitkitError(
          errorOf(() => resolveHubSettings({ endpoint }, {})),
          'INVALID_ARGUMENT',
        ),
        endpoint,
      ).toBe(true);
    }
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
