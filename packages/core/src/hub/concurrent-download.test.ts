import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildForChildProcess } from './test-support/child-build.js';
import { type FakeHub, filesOf, gitBlobSha1, sha256, startFakeHub } from './test-support/fake-hub.js';

const run = promisify(execFile);
const FIXTURE = new URL('../../../../fixtures/dinov2/default-res/', import.meta.url).pathname;
const REPO = 'vitkit-test/dinov2-tiny';
const COMMIT = 'c'.repeat(40);

let built: string;
let cacheDir: string;
let hub: FakeHub;

beforeAll(async () => {
  built = await buildForChildProcess('src/hub/load-pretrained.ts');
  cacheDir = await mkdtemp(join(tmpdir(), 'vitkit-concurrent-'));
  hub = await startFakeHub({
    [REPO]: { commit: COMMIT, files: filesOf(FIXTURE, ['config.json', 'preprocessor_config.json', 'model.safetensors']) },
  });
  // Slow enough that the two processes' downloads overlap (~0.5 s for the weights).
  hub.throttle(10, 4096);
});

afterAll(async () => {
  await hub?.close();
  await rm(built, { recursive: true, force: true });
  await rm(cacheDir, { recursive: true, force: true });
});

it('two processes loading the same repo at once leave one intact copy', async () => {
  const script = join(built, 'child.mjs');
  await writeFile(
    script,
    `import { loadPretrained } from './src/hub/load-pretrained.js';
const files = await loadPretrained(process.argv[2]);
process.stdout.write(JSON.stringify({ dir: files.dir, tensors: files.weights.keys().length }));
`,
  );
  const env = { ...process.env, HF_ENDPOINT: hub.endpoint, HF_HUB_CACHE: cacheDir, HF_HUB_OFFLINE: '', HF_TOKEN: '' };
  const [a, b] = await Promise.all([run(process.execPath, [script, REPO], { env }), run(process.execPath, [script, REPO], { env })]);
  const first = JSON.parse(a.stdout);
  const second = JSON.parse(b.stdout);
  expect(first).toEqual(second);
  expect(first.tensors).toBeGreaterThan(10);

  const files = filesOf(FIXTURE, ['config.json', 'preprocessor_config.json', 'model.safetensors']);
  const repoDir = join(cacheDir, 'models--vitkit-test--dinov2-tiny');
  // Exactly one blob per file, no leftovers, and every blob's bytes hash to its name.
  const blobs = (await readdir(join(repoDir, 'blobs'))).sort();
  expect(blobs).toEqual(
    [sha256(files['model.safetensors']), gitBlobSha1(files['config.json']), gitBlobSha1(files['preprocessor_config.json'])].sort(),
  );
  for (const [name, bytes] of Object.entries(files)) {
    expect(Buffer.from(await readFile(join(repoDir, 'snapshots', COMMIT, name))).equals(Buffer.from(bytes)), name).toBe(true);
  }
  // The lock made the second process wait and reuse the first one's blob: each file crossed the wire once.
  const gets = hub.requests.filter((r) => r.method === 'GET');
  expect(gets.filter((r) => r.path.startsWith('/cdn/'))).toHaveLength(1);
  expect(gets.filter((r) => r.path.endsWith('/config.json'))).toHaveLength(1);
  expect(hub.requests.filter((r) => r.method === 'HEAD' && r.path.endsWith('/model.safetensors'))).toHaveLength(2);
});
