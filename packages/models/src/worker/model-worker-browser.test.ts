// The worker API in real Chromium: a page (bundled from the sources for the browser side of
// '#platform') starts a module Web Worker running `exposeModelWorker()`, which fetches the fixture
// checkpoint by URL and runs it on onnxruntime-web's wasm. Served from 127.0.0.1, cross-origin
// isolated. Needs /usr/bin/chromium (Debian `chromium`) or CHROMIUM_PATH: without it the suite
// skips locally and fails under CI=true.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Tensor } from '@vitkit/core';
import { Dinov2 } from '@vitkit/dino';
import { fixturePath, readFixtureTensors } from '@vitkit/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleBrowserScript } from '../test-support/bundle-for-tests.js';
import {
  CHROMIUM,
  type Chromium,
  callPage,
  HAVE_CHROMIUM,
  IN_CI,
  launchChromium,
  openPage,
  serve,
  type TestServer,
} from '../test-support/chromium-page.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const CASE = 'dinov2/default-res';

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

  let server: TestServer;
  let browser: Chromium;
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
    server = await serve({ scripts: { '/page.js': page, '/worker.js': worker }, extra: { '/pixels.json': pixelsJson } });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('loads by URL with progress, embeds with the pixels transferred, keeps error codes, reports a dead worker', async () => {
    const opened = await openPage(browser.context, `${server.origin}/`);
    const result = await callPage<{
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
    }>(opened, 'roundTrip', [`/fixture/${CASE}`, '/pixels.json']);
    const problems = opened.problems;
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
