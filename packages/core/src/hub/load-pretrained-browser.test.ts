// The browser loader has no Node imports, so it runs here as is, on Node's fetch (no Cache API),
// against the fake Hub: the same bytes as Node's loader, from a Hub id or a base URL.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isVitkitError } from '../errors/vitkit-error.js';
import { loadPretrained as loadPretrainedNode } from './load-pretrained.js';
import { downloadPretrained, isBaseUrl, loadPretrained } from './load-pretrained-browser.js';
import { type FakeHub, filesOf, startFakeHub } from './test-support/fake-hub.js';

const DEFAULT_RES = join(new URL('../../../../fixtures/', import.meta.url).pathname, 'dinov2/default-res');
const FILES = ['config.json', 'preprocessor_config.json', 'model.safetensors'];

let hub: FakeHub;
beforeAll(async () => {
  hub = await startFakeHub({
    'org/dino': { commit: 'a'.repeat(40), files: filesOf(DEFAULT_RES, FILES) },
    'org/private': { commit: 'b'.repeat(40), files: filesOf(DEFAULT_RES, FILES), token: 'hf_secret' },
    'org/no-weights': { commit: 'c'.repeat(40), files: filesOf(DEFAULT_RES, ['config.json']) },
  });
});
afterAll(() => hub?.close());

async function code(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return isVitkitError(e) ? e.code : `not a VitkitError: ${e}`;
  }
}

describe('browser loadPretrained', () => {
  it('tells base URLs from Hub ids', () => {
    for (const url of ['https://example.com/m', '/models/dino', './dino', '../dino', 'blob:x']) expect(isBaseUrl(url)).toBe(true);
    for (const id of ['facebook/dinov2-small', 'gpt2', 'org/name.v2']) expect(isBaseUrl(id)).toBe(false);
  });

  it('loads a Hub id through endpoint/repo/resolve/revision/file, same tensors as Node', async () => {
    const progress: string[] = [];
    const files = await loadPretrained('org/dino', { endpoint: hub.endpoint, onProgress: (p) => progress.push(p.file) });
    const reference = await loadPretrainedNode(DEFAULT_RES);
    expect(files.source).toBe('org/dino');
    expect(files.dir).toBe(`${hub.endpoint}/org/dino/resolve/main`);
    expect(files.config).toEqual(reference.config);
    expect(files.preprocessorConfig).toEqual(reference.preprocessorConfig);
    expect(files.weights.keys().sort()).toEqual(reference.weights.keys().sort());
    for (const k of reference.weights.keys()) expect(files.weights.get(k).data).toEqual(reference.weights.get(k).data);
    expect(new Set(progress)).toEqual(new Set(FILES));
  });

  it('loads from a base URL (trailing slash or not)', async () => {
    for (const base of [`${hub.endpoint}/org/dino/resolve/main`, `${hub.endpoint}/org/dino/resolve/main/`]) {
      const files = await loadPretrained(base);
      expect(files.dir).toBe(`${hub.endpoint}/org/dino/resolve/main`);
      expect(files.config.model_type).toBe('dinov2');
    }
  });

  it('sends the token, and says so when a repo refuses', async () => {
    expect(await code(loadPretrained('org/private', { endpoint: hub.endpoint }))).toBe('HUB_UNAUTHORIZED');
    const files = await loadPretrained('org/private', { endpoint: hub.endpoint, token: 'hf_secret' });
    expect(files.weights.keys().length).toBeGreaterThan(0);
  });

  it('names what is missing', async () => {
    expect(await code(loadPretrained('org/no-weights', { endpoint: hub.endpoint }))).toBe('FILE_NOT_FOUND');
    expect(await code(loadPretrained(`${hub.endpoint}/org/dino/resolve/main/nothing-here`))).toBe('FILE_NOT_FOUND');
    expect(await code(loadPretrained('not a repo'))).toBe('INVALID_ARGUMENT');
    expect(await code(loadPretrained('org/dino', { endpoint: hub.endpoint, localFilesOnly: true }))).toBe('HUB_OFFLINE_MISS');
  });

  it('downloadPretrained lists the URLs it fetched', async () => {
    const d = await downloadPretrained('org/dino', { endpoint: hub.endpoint });
    expect(d.files).toEqual(FILES.map((f) => `${hub.endpoint}/org/dino/resolve/main/${f}`));
  });
});
