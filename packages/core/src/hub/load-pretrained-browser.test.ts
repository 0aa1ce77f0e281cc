// The browser loader has no Node imports, so it runs here as is, on Node's fetch (no Cache API),
// against the fake Hub: the same bytes as Node's loader, from a Hub id or a base URL.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isVitkitError } from '../errors/vitkit-error.js';
import { readSafetensors } from '../weights/safetensors.js';
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

/** A sharded checkpoint whose index sends every tensor to `shard` (and serves the real weights under that name when it is plain). */
function shardedRepo(shard: string): Record<string, Uint8Array> {
  const files = filesOf(DEFAULT_RES, ['config.json']);
  const weights = readFileSync(join(DEFAULT_RES, 'model.safetensors'));
  const names = [...readSafetensors(new Uint8Array(weights)).tensors.keys()];
  const index = { metadata: {}, weight_map: Object.fromEntries(names.map((n) => [n, shard])) };
  files['model.safetensors.index.json'] = new TextEncoder().encode(JSON.stringify(index));
  files[shard] = new Uint8Array(weights);
  return files;
}

describe('browser loadPretrained against a hostile Hub', () => {
  // Node's loader and this one take shard names through the one rule in repo-paths.ts.
  const BAD_SHARDS = [
    '%2e%2e/%2e%2e/%2e%2e/%2e%2e/org/private/resolve/main/model.safetensors',
    '%2E%2e/%2e%2E/%2e%2e/%2e%2e/org/private/resolve/main/model.safetensors',
    '..%2f..%2f..%2f..%2forg/private/resolve/main/model.safetensors',
    '../../../../org/private/resolve/main/model.safetensors',
    '/org/private/resolve/main/model.safetensors',
    'https://example.com/model.safetensors',
    'a\\..\\b.safetensors',
    './model.safetensors',
    'a//model.safetensors',
    'model\u0000.safetensors',
  ];

  it('refuses shard names that could reach another URL, in Node and the browser alike, asking nothing outside the repo', async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), 'vitkit-shards-'));
    try {
      for (const [i, shard] of BAD_SHARDS.entries()) {
        const repo = `org/evil-${i}`;
        const evil = await startFakeHub({
          [repo]: { commit: 'd'.repeat(40), files: shardedRepo(shard) },
          'org/private': { commit: 'b'.repeat(40), files: filesOf(DEFAULT_RES, FILES), token: 'hf_secret' },
        });
        try {
          const options = { endpoint: evil.endpoint, token: 'hf_secret' };
          const browser = await code(loadPretrained(repo, options));
          const node = await code(loadPretrainedNode(repo, { ...options, cacheDir }));
          expect([browser, node], shard).toEqual(['WEIGHTS_HEADER_INVALID', 'WEIGHTS_HEADER_INVALID']);
          const outside = evil.requests.filter((r) => !r.path.startsWith(`/${repo}/resolve/main/`));
          expect(outside, shard).toEqual([]);
        } finally {
          await evil.close();
        }
      }
      // A plain sharded checkpoint still loads in both.
      const good = await startFakeHub({ 'org/good': { commit: 'e'.repeat(40), files: shardedRepo('model-00001-of-00001.safetensors') } });
      try {
        const browser = await loadPretrained('org/good', { endpoint: good.endpoint });
        const node = await loadPretrainedNode('org/good', { endpoint: good.endpoint, cacheDir });
        expect(browser.weights.keys().sort()).toEqual(node.weights.keys().sort());
      } finally {
        await good.close();
      }
    } finally {
      await rm(cacheDir, { recursive: true, force: true });
    }
  });

  it('a redirect Location like /\\host:port/… is resolved as that other origin, which gets no token', async () => {
    const h = await startFakeHub({ 'org/private': { commit: 'b'.repeat(40), files: filesOf(DEFAULT_RES, FILES), token: 'hf_secret' } });
    try {
      h.lfsLocation((hostPort, path) => `/\\${hostPort}${path}`);
      const files = await loadPretrained('org/private', { endpoint: h.endpoint, token: 'hf_secret' });
      expect(files.weights.keys().length).toBeGreaterThan(0);
      const toCdn = h.requests.filter((r) => r.server === 'cdn');
      expect(toCdn).toHaveLength(1);
      expect(toCdn[0].authorization).toBeUndefined();
    } finally {
      await h.close();
    }
  });

  it('refuses a revision that is not a git ref name', async () => {
    for (const revision of ['../../other/resolve/main', 'a b', 'x..y']) {
      expect(await code(loadPretrained('org/dino', { endpoint: hub.endpoint, revision })), revision).toBe('INVALID_ARGUMENT');
    }
  });

  it('a server that goes silent mid-body ends in HUB_TIMEOUT after downloadTimeoutMs', async () => {
    const h = await startFakeHub({ 'org/dino': { commit: 'a'.repeat(40), files: filesOf(DEFAULT_RES, FILES) } });
    try {
      h.stall('model.safetensors', 'body', { afterBytes: 1000 });
      const started = performance.now();
      expect(await code(loadPretrained('org/dino', { endpoint: h.endpoint, downloadTimeoutMs: 200 }))).toBe('HUB_TIMEOUT');
      expect(performance.now() - started).toBeLessThan(3_000);
      h.stall('model.safetensors', 'body', { times: 0 });
      expect((await loadPretrained('org/dino', { endpoint: h.endpoint })).weights.keys().length).toBeGreaterThan(0);
    } finally {
      await h.close();
    }
  });
});
