// The worker API in real Chromium: a page (bundled from the sources for the browser side of
// '#platform') starts a module Web Worker running `exposeModelWorker()`, which fetches the fixture
// checkpoint by URL and runs it on onnxruntime-web's wasm. Served from 127.0.0.1, cross-origin
// isolated. Needs /usr/bin/chromium (Debian `chromium`) or CHROMIUM_PATH: without it the suite
// skips locally and fails under CI=true.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Tensor } from '@vitkit/core';
import { Dinov2 } from '@vitkit/dino';
import { FIXTURES_DIR, fixturePath, readFixtureTensors } from '@vitkit/test-support';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleBrowserScript } from './test-support/bundle-worker.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const IN_CI = process.env.CI === 'true' || process.env.CI === '1';
const HERE = dirname(fileURLToPath(import.meta.url));
const CASE = 'dinov2/default-res';

function ortDist(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm'));
}

function serve(files: Record<string, string>, pixelsJson: string): Promise<Server> {
  const ort = ortDist();
  const ortFiles = new Set(readdirSync(ort));
  const root = FIXTURES_DIR.endsWith(sep) ? FIXTURES_DIR : FIXTURES_DIR + sep;
  const server = createServer((req, res) => {
    // Cross-origin isolated, so wasm gets its threads (SharedArrayBuffer).
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const base = path.slice(path.lastIndexOf('/') + 1);
    const send = (type: string, body: string | Buffer) => {
      res.setHeader('content-type', type);
      res.end(body);
    };
    if (path === '/') send('text/html', '<!doctype html><meta charset="utf-8"><script type="module" src="/page.js"></script>');
    else if (files[path] !== undefined) send('text/javascript', files[path]);
    else if (path === '/pixels.json') send('application/json', pixelsJson);
    else if (path.startsWith('/fixture/')) {
      const file = normalize(join(FIXTURES_DIR, decodeURIComponent(path.slice('/fixture/'.length))));
      if (file.startsWith(root) && existsSync(file) && !file.endsWith(sep)) send('application/octet-stream', readFileSync(file));
      else {
        res.statusCode = 404;
        res.end();
      }
    } else if (ortFiles.has(base) && /\.(wasm|mjs)$/.test(base))
      send(base.endsWith('.wasm') ? 'application/wasm' : 'text/javascript', readFileSync(join(ort, base)));
    else {
      res.statusCode = 404;
      res.end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('ModelWorker in Chromium (module Web Worker, wasm)', () => {
  if (!HAVE_CHROMIUM) {
    if (IN_CI) {
      it('needs Chromium in CI', () => {
        throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium, or set CHROMIUM_PATH.`);
      });
    } else {
      console.warn(`[worker browser test] skipped: no Chromium at ${CHROMIUM}. CI=true makes this a failure.`);
      it.skip('Chromium not installed', () => undefined);
    }
    return;
  }

  let server: Server;
  let context: BrowserContext;
  let profile: string;
  let origin: string;
  const pixels = readFixtureTensors(`${CASE}/input.safetensors`).get('pixel_values') as Tensor;

  beforeAll(async () => {
    const [page, worker] = await Promise.all([
      bundleBrowserScript(join(HERE, 'test-support/browser-page-entry.ts')),
      bundleBrowserScript(join(HERE, 'test-support/browser-worker-entry.ts')),
    ]);
    const data = pixels.data as Float32Array;
    const pixelsJson = JSON.stringify({
      shape: pixels.shape,
      bytes: Array.from(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)),
    });
    server = await serve({ '/page.js': page, '/worker.js': worker }, pixelsJson);
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    profile = mkdtempSync(join(tmpdir(), 'vitkit-worker-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--headless',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
      timeout: 60_000,
    });
  });

  afterAll(async () => {
    await context?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('loads by URL with progress, embeds with the pixels transferred, keeps error codes, reports a dead worker', async () => {
    const page = context.pages()[0] ?? (await context.newPage());
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    const lines: string[] = [];
    page.on('console', (m) => {
      lines.push(`${m.type()}: ${m.text()}`);
      if (m.type() === 'error' && !/no-such-(worker|model)|404/.test(m.text())) problems.push(`console: ${m.text()}`);
    });
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => (globalThis as unknown as { pageReady?: boolean }).pageReady === true, undefined, { timeout: 60_000 });
    // page.evaluate has no timeout of its own: bound it, and say what the page logged.
    let timer: NodeJS.Timeout | undefined;
    const result = (await Promise.race([
      page.evaluate(
        ([checkpoint, pixelsUrl]) =>
          (globalThis as unknown as { roundTrip(a: string, b: string): Promise<unknown> }).roundTrip(checkpoint, pixelsUrl),
        [`/fixture/${CASE}`, '/pixels.json'],
      ),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the page did not finish in 90 s:\n${[...problems, ...lines].join('\n')}`)), 90_000);
      }),
    ]).finally(() => clearTimeout(timer))) as {
      info: { architecture: string; device: string; methods: string[] };
      progress: { stage: string; state?: string; file?: string }[];
      cls: number[];
      clsIsTensor: boolean;
      patchesShape: number[];
      detachedAfterSend: boolean;
      imageDetached: boolean;
      pca: { width: number; height: number; nonZero: boolean };
      errors: Record<string, string>;
      workerFailed: string;
      isolated: boolean;
    };
    expect(problems).toEqual([]);
    expect(result.isolated).toBe(true);
    expect(result.info).toMatchObject({ architecture: 'Dinov2Model', device: 'wasm' });
    expect(result.info.methods).toContain('embed');
    // Downloads (config, preprocessor config, weights), then the graph, then onnxruntime-web's session.
    const files = new Set(result.progress.filter((p) => p.stage === 'download').map((p) => p.file));
    expect(files).toContain('model.safetensors');
    const steps = result.progress.filter((p) => p.stage !== 'download').map((p) => `${p.stage}:${p.state}`);
    expect(steps).toEqual(['graph:start', 'graph:done', 'session:start', 'session:done']);

    expect(result.clsIsTensor).toBe(true);
    expect(result.detachedAfterSend).toBe(true);
    expect(result.imageDetached).toBe(true);
    expect(result.pca.width).toBeGreaterThan(0);
    expect(result.pca.nonZero).toBe(true);
    // The same numbers as the model run in Node on onnxruntime-node (cpu).
    const local = await Dinov2.fromPretrained(fixturePath(CASE), { threads: 1 });
    try {
      const here = await local.embed(pixels);
      expect(result.patchesShape).toEqual(here.patches.shape);
      expect(result.cls).toHaveLength(here.cls.data.length);
      result.cls.forEach((v, i) => expect(Math.abs(v - here.cls.data[i])).toBeLessThan(1e-4));
    } finally {
      await local.dispose();
    }
    expect(result.errors).toEqual({
      badShape: 'VitkitError:INPUT_SHAPE_INVALID',
      noClassifier: 'VitkitError:MODEL_TYPE_UNSUPPORTED',
      missingCheckpoint: 'VitkitError:FILE_NOT_FOUND',
    });
    expect(result.workerFailed).toBe('VitkitError:WORKER_FAILED');
  });
});
