// The same decode + preprocessing, bundled for the browser (createImageBitmap path, no sharp), run in
// headless Chromium, must give the same bytes as Node (sharp path) on every fixture case: PNGs, and
// cats.jpg, which Chromium's libjpeg-turbo decodes to the same pixels as Pillow's libjpeg (checked
// here through the preprocessed output; a decoder that differed by one level would fail every case).
// Needs /usr/bin/chromium (Debian package `chromium`) or CHROMIUM_PATH. Without it the suite skips
// locally and fails under CI=true.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createImageProcessor } from '../preprocess/image-processor.js';
import { readSafetensors } from '../weights/safetensors.js';
import { loadImage } from './load-image.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const IN_CI = process.env.CI === 'true' || process.env.CI === '1';
const SRC = fileURLToPath(new URL('../', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../../../../fixtures/preprocess/', import.meta.url));

interface FixtureCase {
  name: string;
  config: string; // path under FIXTURES
  images: string[]; // paths under FIXTURES
  atol: number; // the case's tolerance against its reference output
}

function fixtureCases(): FixtureCase[] {
  const cases: FixtureCase[] = [];
  for (const processor of readdirSync(FIXTURES).sort()) {
    if (processor === 'images') continue;
    for (const name of readdirSync(join(FIXTURES, processor)).sort()) {
      const dir = join(FIXTURES, processor, name);
      const meta = JSON.parse(readFileSync(join(dir, 'case.json'), 'utf8')) as { images: string[]; atol?: number };
      const images = meta.images.map((p) => normalize(join(processor, name, p)));
      if (images.every((p) => p.endsWith('.png') || p.endsWith('.jpg')))
        cases.push({
          name: `${processor}/${name}`,
          config: join(processor, name, 'preprocessor_config.json'),
          images,
          atol: meta.atol ?? 1e-6,
        });
    }
  }
  return cases;
}

/** The page's entry: the library's own loadImage + processors, with '#platform' bound to the browser side. */
const ENTRY = `
import { loadImage } from ${JSON.stringify(join(SRC, 'image/load-image.ts'))};
import { createImageProcessor } from ${JSON.stringify(join(SRC, 'preprocess/image-processor.ts'))};
const base64 = (bytes) => { let s = ''; for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000)); return btoa(s); };
window.runCase = async (configUrl, imageUrls) => {
  const config = await (await fetch(configUrl)).json();
  const images = await Promise.all(imageUrls.map((u) => loadImage(u)));
  const out = createImageProcessor(config).processImages(images);
  const pv = out.pixel_values.data;
  return {
    decoded: images.map((im) => base64(im.data)),
    shape: out.pixel_values.shape,
    pixelValues: base64(new Uint8Array(pv.buffer, pv.byteOffset, pv.byteLength)),
    mask: out.pixel_mask ? Array.from(out.pixel_mask.data, Number) : null,
  };
};
window.ready = true;
`;

async function bundle(): Promise<string> {
  const result = await build({
    stdin: { contents: ENTRY, resolveDir: SRC, loader: 'js' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    // onnxruntime-web is loaded lazily by the runtime module the browser platform file also exports.
    external: ['onnxruntime-web'],
    plugins: [
      {
        name: 'vitkit-platform-browser',
        setup(b) {
          b.onResolve({ filter: /^#platform$/ }, () => ({ path: join(SRC, 'platform/browser.ts') }));
          // Node built-ins or sharp reaching the bundle would mean the platform split leaks.
          b.onResolve({ filter: /^(node:|sharp$)/ }, (args) => ({
            errors: [{ text: `${args.path} must not reach a browser bundle (imported by ${args.importer})` }],
          }));
        },
      },
    ],
  });
  return result.outputFiles[0].text;
}

function serve(script: string): Promise<Server> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === '/') {
      res.setHeader('content-type', 'text/html');
      res.end('<!doctype html><meta charset="utf-8"><script type="module" src="/bundle.js"></script>');
    } else if (url.pathname === '/bundle.js') {
      res.setHeader('content-type', 'text/javascript');
      res.end(script);
    } else if (url.pathname.startsWith('/fixtures/')) {
      const file = normalize(join(FIXTURES, decodeURIComponent(url.pathname.slice('/fixtures/'.length))));
      if (!file.startsWith(FIXTURES.endsWith(sep) ? FIXTURES : FIXTURES + sep) || !existsSync(file)) {
        res.statusCode = 404;
        res.end();
        return;
      }
      res.end(readFileSync(file));
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const cases = fixtureCases();

describe('browser preprocessing equals Node preprocessing', () => {
  if (!HAVE_CHROMIUM) {
    if (IN_CI) {
      it('needs Chromium in CI', () => {
        throw new Error(
          `Chromium not found at ${CHROMIUM}: install the Debian package "chromium" (apt-get install -y chromium) or set CHROMIUM_PATH.`,
        );
      });
    } else {
      console.warn(
        `[browser-parity] skipped: no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH). CI=true makes this a failure.`,
      );
      it.skip('Chromium not installed', () => undefined);
    }
    return;
  }

  let server: Server;
  let context: BrowserContext;
  let userDataDir: string;
  let origin: string;

  beforeAll(async () => {
    server = await serve(await bundle());
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    userDataDir = mkdtempSync(join(tmpdir(), 'vitkit-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--headless',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    });
  });

  afterAll(async () => {
    await context?.close();
    server?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  it('has cases to compare, JPEG among them', () => {
    expect(cases.length).toBeGreaterThanOrEqual(10);
    expect(cases.some((c) => c.images.some((p) => p.endsWith('.jpg')))).toBe(true);
  });

  for (const c of cases) {
    it(c.name, async () => {
      const page = await context.newPage();
      try {
        await page.goto(`${origin}/`);
        await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
        const browser = (await page.evaluate(
          ([config, images]) => (window as unknown as { runCase: (c: string, i: string[]) => Promise<unknown> }).runCase(config, images),
          [`/fixtures/${c.config}`, c.images.map((p) => `/fixtures/${p}`)] as const,
        )) as { decoded: string[]; shape: number[]; pixelValues: string; mask: number[] | null };

        const images = await Promise.all(c.images.map((p) => loadImage(join(FIXTURES, p))));
        const node = createImageProcessor(JSON.parse(readFileSync(join(FIXTURES, c.config), 'utf8'))).processImages(images);
        images.forEach((im, i) => {
          expect(Buffer.from(browser.decoded[i], 'base64').equals(Buffer.from(im.data)), `decoded RGB of ${c.images[i]}`).toBe(true);
        });
        expect(browser.shape).toEqual(node.pixel_values.shape);
        const pv = node.pixel_values.data;
        expect(
          Buffer.from(browser.pixelValues, 'base64').equals(Buffer.from(pv.buffer, pv.byteOffset, pv.byteLength)),
          'pixel_values bytes',
        ).toBe(true);
        expect(browser.mask).toEqual(node.pixel_mask ? Array.from(node.pixel_mask.data, Number) : null);
        // And the browser's own pixel values against the transformers reference, within the case's atol.
        const got = new Float32Array(Uint8Array.from(Buffer.from(browser.pixelValues, 'base64')).buffer);
        const caseDir = join(FIXTURES, c.config, '..');
        const want = readSafetensors(readFileSync(join(caseDir, 'expected.safetensors'))).tensors.get('pixel_values')?.data as Float32Array;
        let max = 0;
        for (let i = 0; i < want.length; i++) max = Math.max(max, Math.abs(got[i] - want[i]));
        expect(max, `${c.name} in the browser vs transformers`).toBeLessThanOrEqual(c.atol);
      } finally {
        await page.close();
      }
    });
  }
});
