import { readFileSync } from 'node:fs';
import { lstat, mkdtemp, readdir, readFile, readlink, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isVitkitError } from '../errors/vitkit-error.js';
import { readSafetensors, writeSafetensors } from '../weights/safetensors.js';
import { downloadPretrained, loadPretrained, type PretrainedOptions } from './load-pretrained.js';
import { type FakeHub, type FakeRepo, filesOf, gitBlobSha1, sha256, startFakeHub } from './test-support/fake-hub.js';
import { startScriptedServer } from './test-support/scripted-server.js';

const FIXTURES = new URL('../../../../fixtures/', import.meta.url).pathname;
const DEFAULT_RES = join(FIXTURES, 'dinov2/default-res');
const PYTORCH_BIN = join(FIXTURES, 'dinov2/pytorch-bin');
const COMMIT = 'a'.repeat(39) + '1';
const REPO = 'vitkit-test/dinov2-tiny';
const CHECKPOINT = ['config.json', 'preprocessor_config.json', 'model.safetensors'];

let hub: FakeHub | undefined;
let cacheDir: string;
const savedEnv = { ...process.env };

beforeEach(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'vitkit-hub-'));
  for (const key of [
    'HF_HOME',
    'HF_HUB_CACHE',
    'HF_HUB_OFFLINE',
    'HF_TOKEN',
    'HF_ENDPOINT',
    'HUGGING_FACE_HUB_TOKEN',
    'TRANSFORMERS_OFFLINE',
    'HF_HUB_ETAG_TIMEOUT',
    'HF_HUB_DOWNLOAD_TIMEOUT',
  ])
    delete process.env[key];
});
afterEach(async () => {
  await hub?.close();
  hub = undefined;
  process.env = { ...savedEnv };
  await rm(cacheDir, { recursive: true, force: true });
});

async function serve(repos: Record<string, FakeRepo>): Promise<FakeHub> {
  hub = await startFakeHub(repos);
  return hub;
}

function tinyRepo(files = filesOf(DEFAULT_RES, CHECKPOINT)): Record<string, FakeRepo> {
  return { [REPO]: { commit: COMMIT, files } };
}

function options(extra: PretrainedOptions = {}): PretrainedOptions {
  return { endpoint: hub?.endpoint, cacheDir, ...extra };
}

/** Every path under `dir` (relative, sorted), with symlinks shown as `path -> target`. */
async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(at: string): Promise<void> {
    for (const entry of await readdir(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isSymbolicLink()) out.push(`${relative(dir, path)} -> ${await readlink(path)}`);
      else if (entry.isDirectory()) await walk(path);
      else out.push(relative(dir, path));
    }
  }
  await walk(dir);
  return out.sort();
}

/**
 * After a failed download: one `.incomplete` blob of `bytes` is kept; once `heal` switches the fault
 * off, the next load asks only for the rest (`Range: bytes=<bytes>-`) and has the right weights.
 */
async function expectResumedFrom(h: FakeHub, bytes: number, heal: () => void): Promise<void> {
  const blobs = join(cacheDir, 'models--vitkit-test--dinov2-tiny', 'blobs');
  const incomplete = (await readdir(blobs)).filter((b) => b.endsWith('.incomplete'));
  expect(incomplete).toHaveLength(1);
  expect((await lstat(join(blobs, incomplete[0]))).size).toBe(bytes);
  heal();
  const before = cdnGets(h).length;
  const loaded = await loadPretrained(REPO, options());
  expectSameWeights(loaded.weights, join(DEFAULT_RES, 'model.safetensors'));
  expect(
    cdnGets(h)
      .slice(before)
      .map((g) => g.range),
  ).toEqual([`bytes=${bytes}-`]);
}

async function errorOf(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

function expectSameWeights(actual: { get(name: string): { data: ArrayBufferView }; keys(): string[] }, safetensorsPath: string): void {
  const reference = readSafetensors(new Uint8Array(readFileSync(safetensorsPath))).tensors;
  expect(actual.keys().sort()).toEqual([...reference.keys()].sort());
  for (const [name, t] of reference) {
    const a = actual.get(name).data;
    expect(
      Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)),
      name,
    ).toBe(true);
  }
}

const cdnGets = (h: FakeHub) => h.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/cdn/'));

describe('side files (PretrainedFiles.readFile)', () => {
  it('downloads a tokenizer file on first use into the cache, then reads it offline; a missing one is undefined', async () => {
    const vocab = new TextEncoder().encode('[PAD]\n[UNK]\nhello\n');
    const h = await serve(tinyRepo({ ...filesOf(DEFAULT_RES, CHECKPOINT), 'vocab.txt': vocab }));
    const loaded = await loadPretrained(REPO, options());
    expect(h.requests.some((r) => r.path.includes('vocab.txt'))).toBe(false); // nothing fetched before it is asked for
    expect(await loaded.readFile?.('vocab.txt')).toEqual(vocab);
    expect(await loaded.readFile?.('tokenizer.json')).toBeUndefined();
    await h.close();
    hub = undefined;
    const offline = await loadPretrained(REPO, { cacheDir, localFilesOnly: true });
    expect(await offline.readFile?.('vocab.txt')).toEqual(vocab);
    await expect(loaded.readFile?.('../config.json')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

describe('loadPretrained from the Hub', () => {
  it('downloads into exactly the layout huggingface_hub writes', async () => {
    const files = filesOf(DEFAULT_RES, CHECKPOINT);
    await serve(tinyRepo(files));
    const loaded = await loadPretrained(REPO, options());
    expect(loaded.config.model_type).toBe('dinov2');
    expect(loaded.preprocessorConfig).toEqual(JSON.parse(new TextDecoder().decode(files['preprocessor_config.json'])));
    expectSameWeights(loaded.weights, join(DEFAULT_RES, 'model.safetensors'));

    const repoDir = join(cacheDir, 'models--vitkit-test--dinov2-tiny');
    expect(loaded.dir).toBe(join(repoDir, 'snapshots', COMMIT));
    // Blobs are named by the Hub's etag: sha256 for LFS files, git blob sha1 for the rest; each
    // snapshot entry is a relative symlink into blobs; refs/main holds the commit, no newline.
    const weightsHash = sha256(files['model.safetensors']);
    const configHash = gitBlobSha1(files['config.json']);
    const preprocessorHash = gitBlobSha1(files['preprocessor_config.json']);
    expect(await tree(repoDir)).toEqual(
      [
        `blobs/${configHash}`,
        `blobs/${preprocessorHash}`,
        `blobs/${weightsHash}`,
        'refs/main',
        `snapshots/${COMMIT}/config.json -> ../../blobs/${configHash}`,
        `snapshots/${COMMIT}/model.safetensors -> ../../blobs/${weightsHash}`,
        `snapshots/${COMMIT}/preprocessor_config.json -> ../../blobs/${preprocessorHash}`,
      ].sort(),
    );
    expect(await readFile(join(repoDir, 'refs/main'), 'utf8')).toBe(COMMIT);
    for (const name of CHECKPOINT) {
      expect(Buffer.from(readFileSync(join(loaded.dir, name))).equals(Buffer.from(files[name])), name).toBe(true);
    }
    // No lock directory outlives its download.
    expect(await readdir(join(cacheDir, '.locks', 'models--vitkit-test--dinov2-tiny'))).toEqual([]);
  });

  it('follows the LFS redirect for bytes but names the blob by the first response (X-Linked-Etag)', async () => {
    const h = await serve(tinyRepo());
    await loadPretrained(REPO, options());
    const head = h.requests.find((r) => r.method === 'HEAD' && r.path.endsWith('/model.safetensors'));
    expect(head).toBeDefined();
    expect(cdnGets(h)).toHaveLength(1);
    // The CDN's own ETag ("cdn-object-etag") must not name anything in the cache.
    const blobs = await readdir(join(cacheDir, 'models--vitkit-test--dinov2-tiny', 'blobs'));
    expect(blobs.some((b) => b.includes('cdn'))).toBe(false);
  });

  it('reuses the cache: a second load sends HEADs only', async () => {
    const h = await serve(tinyRepo());
    await loadPretrained(REPO, options());
    const before = h.requests.length;
    const progress: string[] = [];
    const again = await loadPretrained(REPO, options({ onProgress: (p) => progress.push(p.file) }));
    expectSameWeights(again.weights, join(DEFAULT_RES, 'model.safetensors'));
    const later = h.requests.slice(before);
    expect(later.length).toBeGreaterThan(0);
    expect(later.every((r) => r.method === 'HEAD')).toBe(true);
    expect(progress).toEqual([]);
  });

  it('reports progress per file, ending at the full size', async () => {
    const files = filesOf(DEFAULT_RES, CHECKPOINT);
    await serve(tinyRepo(files));
    const seen: { file: string; loaded: number; total?: number }[] = [];
    await loadPretrained(REPO, options({ onProgress: (p) => seen.push(p) }));
    const last = seen.filter((p) => p.file === 'model.safetensors').at(-1);
    expect(last).toEqual({
      file: 'model.safetensors',
      loaded: files['model.safetensors'].byteLength,
      total: files['model.safetensors'].byteLength,
    });
  });

  it('honours HF_ENDPOINT and HF_HUB_CACHE, and HF_HOME/hub when HF_HUB_CACHE is unset', async () => {
    const h = await serve(tinyRepo());
    process.env.HF_ENDPOINT = h.endpoint;
    process.env.HF_HUB_CACHE = join(cacheDir, 'explicit');
    await loadPretrained(REPO);
    expect(await readdir(join(cacheDir, 'explicit'))).toContain('models--vitkit-test--dinov2-tiny');
    delete process.env.HF_HUB_CACHE;
    process.env.HF_HOME = join(cacheDir, 'home');
    await loadPretrained(REPO);
    expect(await readdir(join(cacheDir, 'home', 'hub'))).toContain('models--vitkit-test--dinov2-tiny');
  });

  it('loads pytorch_model.bin when the repo has no safetensors, recording the misses under .no_exist', async () => {
    await serve(tinyRepo(filesOf(PYTORCH_BIN, ['config.json', 'pytorch_model.bin'])));
    const loaded = await loadPretrained(REPO, options());
    expect(loaded.preprocessorConfig).toBeUndefined();
    expectSameWeights(loaded.weights, join(PYTORCH_BIN, 'model.safetensors'));
    const noExist = await tree(join(cacheDir, 'models--vitkit-test--dinov2-tiny', '.no_exist'));
    expect(noExist).toEqual([
      `${COMMIT}/model.safetensors`,
      `${COMMIT}/model.safetensors.index.json`,
      `${COMMIT}/preprocessor_config.json`,
    ]);
  });

  it('downloads every shard of a sharded safetensors checkpoint', async () => {
    const { tensors } = readSafetensors(new Uint8Array(readFileSync(join(DEFAULT_RES, 'model.safetensors'))));
    const names = [...tensors.keys()].sort();
    const files: Record<string, Uint8Array> = { 'config.json': new Uint8Array(readFileSync(join(DEFAULT_RES, 'config.json'))) };
    const weightMap: Record<string, string> = {};
    for (const [i, part] of [names.slice(0, 5), names.slice(5)].entries()) {
      const shard = `model-0000${i + 1}-of-00002.safetensors`;
      files[shard] = writeSafetensors(new Map(part.map((n) => [n, tensors.get(n)!])));
      for (const n of part) weightMap[n] = shard;
    }
    files['model.safetensors.index.json'] = new TextEncoder().encode(JSON.stringify({ metadata: {}, weight_map: weightMap }));
    await serve(tinyRepo(files));
    const loaded = await loadPretrained(REPO, options());
    expectSameWeights(loaded.weights, join(DEFAULT_RES, 'model.safetensors'));
    const downloaded = await downloadPretrained(REPO, options());
    expect(downloaded.files.map((f) => relative(downloaded.dir, f))).toEqual([
      'config.json',
      'model.safetensors.index.json',
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
    ]);
  });
});

describe('Hub faults', () => {
  it('resumes with a Range request after the connection drops mid-file', async () => {
    const files = filesOf(DEFAULT_RES, CHECKPOINT);
    const h = await serve(tinyRepo(files));
    h.dropConnection('model.safetensors', 70_000, 2);
    const loaded = await loadPretrained(REPO, options());
    expectSameWeights(loaded.weights, join(DEFAULT_RES, 'model.safetensors'));
    const gets = cdnGets(h);
    expect(gets.map((g) => g.range)).toEqual([undefined, 'bytes=70000-', 'bytes=140000-']);
  });

  it('gives up after bounded retries with the partial file kept, then resumes it on the next call', async () => {
    const h = await serve(tinyRepo());
    h.dropConnection('model.safetensors', 10_000, 100);
    const error = await errorOf(loadPretrained(REPO, options()));
    expect(isVitkitError(error, 'HUB_DOWNLOAD_INTERRUPTED')).toBe(true);
    expect(error.message).toContain('model.safetensors');
    const repoDir = join(cacheDir, 'models--vitkit-test--dinov2-tiny');
    expect(await readdir(join(repoDir, 'snapshots', COMMIT))).not.toContain('model.safetensors');
    await expectResumedFrom(h, 50_000, () => h.dropConnection('model.safetensors', 0, 0));
  });

  it('rejects an LFS file whose sha256 does not match, leaving nothing in snapshots or blobs', async () => {
    const h = await serve(tinyRepo());
    h.corrupt('model.safetensors');
    const error = await errorOf(loadPretrained(REPO, options()));
    expect(isVitkitError(error, 'HUB_CHECKSUM_MISMATCH')).toBe(true);
    expect(error.message).toContain('model.safetensors');
    expect(error.message).toContain(REPO);
    const repoDir = join(cacheDir, 'models--vitkit-test--dinov2-tiny');
    expect(await readdir(join(repoDir, 'snapshots', COMMIT))).not.toContain('model.safetensors');
    const weightsHash = sha256(filesOf(DEFAULT_RES, ['model.safetensors'])['model.safetensors']);
    expect((await readdir(join(repoDir, 'blobs'))).filter((b) => b.startsWith(weightsHash))).toEqual([]);
  });

  it('rejects a regular file whose git blob id does not match', async () => {
    const h = await serve(tinyRepo());
    h.corrupt('config.json');
    const error = await errorOf(loadPretrained(REPO, options()));
    expect(isVitkitError(error, 'HUB_CHECKSUM_MISMATCH')).toBe(true);
    expect(error.message).toContain('git blob id');
    expect(await readdir(join(cacheDir, 'models--vitkit-test--dinov2-tiny', 'blobs'))).toEqual([]);
  });

  it('401 names the repo and file and says to set HF_TOKEN; the token then works and never goes to the CDN', async () => {
    const h = await serve({ [REPO]: { commit: COMMIT, files: filesOf(DEFAULT_RES, CHECKPOINT), token: 'hf_secret' } });
    const error = await errorOf(loadPretrained(REPO, options()));
    expect(isVitkitError(error, 'HUB_UNAUTHORIZED')).toBe(true);
    expect(error.message).toContain(REPO);
    expect(error.message).toContain('config.json');
    expect(error.message).toContain('HF_TOKEN');

    process.env.HF_TOKEN = 'hf_secret';
    const loaded = await loadPretrained(REPO, options());
    expect(loaded.weights.keys().length).toBeGreaterThan(0);
    expect(h.requests.filter((r) => r.path.includes('/resolve/') && r.authorization === 'Bearer hf_secret').length).toBeGreaterThan(0);
    expect(cdnGets(h).every((r) => r.authorization === undefined)).toBe(true);
  });

  it('a gated repo says to accept its licence', async () => {
    await serve({ [REPO]: { commit: COMMIT, files: filesOf(DEFAULT_RES, CHECKPOINT), token: 'hf_x', gated: true } });
    const error = await errorOf(loadPretrained(REPO, options()));
    expect(isVitkitError(error, 'HUB_UNAUTHORIZED')).toBe(true);
    expect(error.message).toMatch(/licen[cs]e/);
    expect(error.message).toContain(`${hub?.endpoint}/${REPO}`);
  });

  it('404 for a missing required file names the repo, file and revision', async () => {
    await serve(tinyRepo(filesOf(DEFAULT_RES, ['model.safetensors'])));
    const error = await errorOf(loadPretrained(REPO, options({ revision: COMMIT })));
    expect(isVitkitError(error, 'HUB_NOT_FOUND')).toBe(true);
    expect(error.message).toContain(REPO);
    expect(error.message).toContain('config.json');
    expect(error.message).toContain(COMMIT);
  });

  it('404 for an unknown revision says so', async () => {
    await serve(tinyRepo());
    const error = await errorOf(loadPretrained(REPO, options({ revision: 'v9' })));
    expect(isVitkitError(error, 'HUB_NOT_FOUND')).toBe(true);
    expect(error.message).toContain('revision "v9"');
  });

  it('a repo with no weight file lists the names it tried', async () => {
    await serve(tinyRepo(filesOf(DEFAULT_RES, ['config.json'])));
    const error = await errorOf(loadPretrained(REPO, options()));
    expect(isVitkitError(error, 'FILE_NOT_FOUND')).toBe(true);
    expect(error.message).toContain('pytorch_model.bin.index.json');
  });

  it('refuses ids that are neither folders nor Hub ids', async () => {
    expect(isVitkitError(await errorOf(loadPretrained('./no/such/folder', options())), 'FILE_NOT_FOUND')).toBe(true);
    expect(isVitkitError(await errorOf(loadPretrained('bad id!', options())), 'INVALID_ARGUMENT')).toBe(true);
  });
});

describe('offline', () => {
  it('works from a warm cache with localFilesOnly or HF_HUB_OFFLINE=1, touching no network', async () => {
    const h = await serve(tinyRepo());
    await loadPretrained(REPO, options());
    await h.close();
    hub = undefined;
    const viaOption = await loadPretrained(REPO, { cacheDir, localFilesOnly: true, endpoint: 'http://127.0.0.1:9' });
    expectSameWeights(viaOption.weights, join(DEFAULT_RES, 'model.safetensors'));
    expect(viaOption.preprocessorConfig).toBeDefined();
    process.env.HF_HUB_OFFLINE = '1';
    const viaEnv = await loadPretrained(REPO, { cacheDir, endpoint: 'http://127.0.0.1:9' });
    expect(viaEnv.dir).toBe(viaOption.dir);
  });

  it('a pinned commit in the cache needs no network even when online', async () => {
    const h = await serve(tinyRepo());
    await loadPretrained(REPO, options());
    const before = h.requests.length;
    await loadPretrained(REPO, options({ revision: COMMIT }));
    expect(h.requests.length).toBe(before);
  });

  it('falls back to a warm cache when the Hub cannot be reached', async () => {
    const h = await serve(tinyRepo());
    await loadPretrained(REPO, options());
    const endpoint = h.endpoint;
    await h.close();
    hub = undefined;
    const loaded = await loadPretrained(REPO, { cacheDir, endpoint });
    expect(loaded.weights.keys().length).toBeGreaterThan(0);
  });

  it('offline with a cold cache is a clear HUB_OFFLINE_MISS', async () => {
    const error = await errorOf(loadPretrained(REPO, { cacheDir, localFilesOnly: true }));
    expect(isVitkitError(error, 'HUB_OFFLINE_MISS')).toBe(true);
    expect(error.message).toContain(REPO);
    expect(error.message).toContain('config.json');
    expect(error.message).toContain(await realpath(cacheDir).catch(() => cacheDir));
  });

  it('unreachable Hub and a cold cache name the endpoint', async () => {
    const error = await errorOf(loadPretrained(REPO, { cacheDir, endpoint: 'http://127.0.0.1:9' }));
    expect(isVitkitError(error, 'HUB_HTTP_ERROR')).toBe(true);
    expect(error.message).toContain('http://127.0.0.1:9');
  });
});

describe('redirects and the token', () => {
  // Each of these is a path to a URL-unaware eye, but the URL standard (and so fetch) reads it as
  // another host: here the CDN, a second origin standing in for any server but the Hub.
  const forms: [string, (hostPort: string, path: string) => string][] = [
    ['/\\host:port/…', (hostPort, path) => `/\\${hostPort}${path}`],
    ['/<TAB>/host:port/…', (hostPort, path) => `/\t/${hostPort}${path}`],
    ['\\\\host:port/…', (hostPort, path) => `\\\\${hostPort}${path}`],
  ];
  for (const [name, form] of forms) {
    it(`a Location like ${name} is resolved as the other origin it is, and gets no token`, async () => {
      const h = await serve({ [REPO]: { commit: COMMIT, files: filesOf(DEFAULT_RES, CHECKPOINT), token: 'hf_secret' } });
      h.lfsLocation(form);
      const loaded = await loadPretrained(REPO, options({ token: 'hf_secret' }));
      expectSameWeights(loaded.weights, join(DEFAULT_RES, 'model.safetensors'));
      const toCdn = h.requests.filter((r) => r.server === 'cdn');
      expect(toCdn.map((r) => r.method)).toEqual(['GET']);
      expect(toCdn.every((r) => r.authorization === undefined)).toBe(true);
      expect(h.requests.filter((r) => r.server === 'hub').every((r) => r.authorization === 'Bearer hf_secret')).toBe(true);
    });
  }

  it('a redirect to something other than http(s) is a typed error, not a fetch of it', async () => {
    const h = await serve(tinyRepo());
    h.lfsLocation(() => 'file:///etc/passwd');
    const error = await errorOf(loadPretrained(REPO, options()));
    expect(isVitkitError(error, 'HUB_HTTP_ERROR'), String(error)).toBe(true);
  });
});

describe('names and paths stay inside the cache', () => {
  /** Every path under `root`, resolved. */
  async function everything(root: string): Promise<string[]> {
    return (await readdir(root, { recursive: true })).map((p) => resolve(root, p));
  }

  it('refuses revisions that would leave refs/ or snapshots/, writing nothing outside the cache root', async () => {
    const sandbox = await mkdtemp(join(tmpdir(), 'vitkit-sandbox-'));
    const root = join(sandbox, 'cache');
    try {
      await serve({ [REPO]: { commit: COMMIT, files: filesOf(DEFAULT_RES, CHECKPOINT), anyRevision: true } });
      for (const revision of [
        '../../../escape',
        '..',
        'refs/../../../escape',
        '/tmp/escape',
        'a\\..\\..\\b',
        'main\nx',
        'x.lock',
        '.hidden',
      ]) {
        const error = await errorOf(loadPretrained(REPO, options({ cacheDir: root, revision })));
        expect(isVitkitError(error, 'INVALID_ARGUMENT'), `${JSON.stringify(revision)}: ${error}`).toBe(true);
      }
      // Real revision names still work, each ref inside refs/.
      for (const revision of ['refs/pr/3', 'v1.0', 'release-2024.01']) await loadPretrained(REPO, options({ cacheDir: root, revision }));
      const base = resolve(root) + sep;
      const all = await everything(sandbox);
      expect(all.filter((p) => p !== resolve(root) && !p.startsWith(base))).toEqual([]);
      expect(await readFile(join(root, 'models--vitkit-test--dinov2-tiny', 'refs', 'refs', 'pr', '3'), 'utf8')).toBe(COMMIT);
    } finally {
      await rm(sandbox, { recursive: true, force: true });
    }
  });

  it('refuses repo ids huggingface_hub refuses', async () => {
    for (const id of ['org--x/name', 'org/name.git', 'org/..x', '-org/name', 'org/name-', `org/${'n'.repeat(97)}`]) {
      const error = await errorOf(loadPretrained(id, options()));
      expect(isVitkitError(error, 'INVALID_ARGUMENT'), `${id}: ${error}`).toBe(true);
    }
  });
});

describe('silent servers', () => {
  it('a HEAD that is never answered ends in HUB_TIMEOUT after etagTimeoutMs, and the cache answers when it can', async () => {
    const h = await serve(tinyRepo());
    h.stall('config.json', 'head');
    const started = performance.now();
    const error = await errorOf(loadPretrained(REPO, options({ etagTimeoutMs: 200 })));
    const elapsed = performance.now() - started;
    expect(isVitkitError(error, 'HUB_TIMEOUT'), String(error)).toBe(true);
    expect(error.message).toContain('config.json');
    expect(error.message).toContain('HF_HUB_ETAG_TIMEOUT');
    expect(elapsed).toBeLessThan(3_000);

    h.stall('config.json', 'head', { times: 0 });
    await loadPretrained(REPO, options());
    h.stall('config.json', 'head');
    // Warm cache: the silent HEAD falls back to it, as huggingface_hub does.
    process.env.HF_HUB_ETAG_TIMEOUT = '0.2';
    const again = await loadPretrained(REPO, options());
    expectSameWeights(again.weights, join(DEFAULT_RES, 'model.safetensors'));
  });

  it('a download that stalls mid-body ends in HUB_TIMEOUT after its attempts, keeps the partial file, and the next call resumes it', async () => {
    const h = await serve(tinyRepo());
    h.stall('model.safetensors', 'body', { afterBytes: 10_000 });
    process.env.HF_HUB_DOWNLOAD_TIMEOUT = '0.2';
    const started = performance.now();
    const error = await errorOf(loadPretrained(REPO, options()));
    const elapsed = performance.now() - started;
    expect(isVitkitError(error, 'HUB_TIMEOUT'), String(error)).toBe(true);
    expect(error.message).toContain('model.safetensors');
    // Five attempts of 0.2 s of silence each plus the backoff between them (1.5 s).
    expect(cdnGets(h)).toHaveLength(5);
    expect(elapsed).toBeLessThan(6_000);
    await expectResumedFrom(h, 50_000, () => h.stall('model.safetensors', 'body', { times: 0 }));
  });

  it('the downloadTimeoutMs option wins over HF_HUB_DOWNLOAD_TIMEOUT, and bad values are refused', async () => {
    const h = await serve(tinyRepo());
    h.stall('config.json', 'body');
    process.env.HF_HUB_DOWNLOAD_TIMEOUT = '600';
    const started = performance.now();
    expect(isVitkitError(await errorOf(loadPretrained(REPO, options({ downloadTimeoutMs: 100 }))), 'HUB_TIMEOUT')).toBe(true);
    expect(performance.now() - started).toBeLessThan(5_000);
    process.env.HF_HUB_DOWNLOAD_TIMEOUT = 'soon';
    expect(isVitkitError(await errorOf(loadPretrained(REPO, options())), 'INVALID_ARGUMENT')).toBe(true);
    expect(isVitkitError(await errorOf(loadPretrained(REPO, options({ etagTimeoutMs: -1 }))), 'INVALID_ARGUMENT')).toBe(true);
  });

  it('a server that sends more than the size it announced is cut off at that size, and nothing is cached', async () => {
    const announced = new Uint8Array(1000).fill(7);
    const flood = new Uint8Array(4 << 20).fill(7);
    const server = await startScriptedServer((request) => ({
      status: 200,
      headers: [
        ['etag', `"${sha256(announced)}"`],
        ['x-repo-commit', COMMIT],
        ['content-length', String(request.method === 'HEAD' ? announced.length : flood.length)],
      ],
      body: flood,
      finish: 'end',
    }));
    try {
      const error = await errorOf(loadPretrained(REPO, { cacheDir, endpoint: server.origin }));
      expect(isVitkitError(error, 'HUB_CHECKSUM_MISMATCH'), String(error)).toBe(true);
      expect(error.message).toContain('longer than the 1000 bytes');
      expect(await readdir(join(cacheDir, 'models--vitkit-test--dinov2-tiny', 'blobs'))).toEqual([]);
    } finally {
      await server.close();
    }
  });
});
