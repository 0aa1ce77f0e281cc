// What the browser tests share: a 127.0.0.1 server (cross-origin isolated) for bundled scripts,
// the fixtures and onnxruntime-web's wasm files, and headless Chromium (playwright-core, the
// Debian `chromium`).
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, normalize, sep } from 'node:path';
import { FIXTURES_DIR } from '@vitkit/test-support';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const HAVE_CHROMIUM = existsSync(CHROMIUM);
export const IN_CI = process.env.CI === 'true' || process.env.CI === '1';

export interface ServeOptions {
  /** Scripts by URL path ('/page.js'). */
  scripts: Record<string, string>;
  /** Other bodies by URL path. */
  extra?: Record<string, string>;
  /** Folders served under /fixture/ and /checkpoint/ (default: the repo's fixtures/). */
  fixtures?: string;
  /** The ETag a fixture file gets: its content's hash, salted by this (change it to "publish a new revision"). */
  etagSalt?: () => string;
}

export interface TestServer {
  origin: string;
  close(): Promise<void>;
}

function ortDist(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm'));
}

/**
 * `/` is a page running `/page.js`; `/fixture/<path>` serves the fixtures with an ETag (content
 * hash), `/bare/<path>` the same files with no validator at all; onnxruntime-web's .wasm/.mjs by name.
 */
export function serve(options: ServeOptions): Promise<TestServer> {
  const ort = ortDist();
  const ortFiles = new Set(readdirSync(ort));
  const fixtures = options.fixtures ?? FIXTURES_DIR;
  const root = fixtures.endsWith(sep) ? fixtures : fixtures + sep;
  const server: Server = createServer((req, res) => {
    // Cross-origin isolated, so wasm gets its threads (SharedArrayBuffer).
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const base = path.slice(path.lastIndexOf('/') + 1);
    const send = (type: string, body: string | Buffer) => {
      res.setHeader('content-type', type);
      res.end(body);
    };
    const prefix = ['/fixture/', '/bare/'].find((p) => path.startsWith(p));
    if (path === '/') send('text/html', '<!doctype html><meta charset="utf-8"><script type="module" src="/page.js"></script>');
    else if (options.scripts[path] !== undefined) send('text/javascript', options.scripts[path]);
    else if (options.extra?.[path] !== undefined) send('application/json', options.extra[path]);
    else if (prefix) {
      const file = normalize(join(fixtures, decodeURIComponent(path.slice(prefix.length))));
      if (file.startsWith(root) && existsSync(file) && !file.endsWith(sep)) {
        const body = readFileSync(file);
        if (prefix === '/fixture/') {
          const salt = options.etagSalt?.() ?? '';
          res.setHeader('etag', `"${createHash('sha256').update(salt).update(body).digest('hex').slice(0, 32)}"`);
        }
        send('application/octet-stream', body);
      } else {
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
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () => new Promise<void>((done) => server.close(() => done())),
      }),
    ),
  );
}

export interface Chromium {
  context: BrowserContext;
  profile: string;
  /** Closes the browser and, unless `keepProfile`, removes its profile folder. */
  close(keepProfile?: boolean): Promise<void>;
}

/** Headless Chromium on a new profile, or on `profile` (an earlier one, whose Cache API it then sees). */
export async function launchChromium(profile = mkdtempSync(join(tmpdir(), 'vitkit-models-chromium-'))): Promise<Chromium> {
  const context = await chromium.launchPersistentContext(profile, {
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
  return {
    context,
    profile,
    async close(keepProfile = false) {
      await context.close();
      if (!keepProfile) rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** A page at `url` once its script set `pageReady`, collecting its errors (`problems`) and console lines. */
export async function openPage(context: BrowserContext, url: string): Promise<{ page: Page; problems: string[]; lines: string[] }> {
  const page = await context.newPage();
  const problems: string[] = [];
  const lines: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    lines.push(`${m.type()}: ${m.text()}`);
    if (m.type() === 'error' && !/status of 404/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  await page.goto(url);
  await page.waitForFunction(() => (globalThis as unknown as { pageReady?: boolean }).pageReady === true, undefined, { timeout: 60_000 });
  return { page, problems, lines };
}

/** `page.evaluate` of a global function, bounded (it has no timeout of its own), saying what the page logged. */
export async function callPage<R>(
  opened: { page: Page; problems: string[]; lines: string[] },
  fn: string,
  args: unknown[],
  timeoutMs = 90_000,
): Promise<R> {
  let timer: NodeJS.Timeout | undefined;
  return (await Promise.race([
    opened.page.evaluate(
      ([name, a]) => (globalThis as unknown as Record<string, (...x: unknown[]) => Promise<unknown>>)[name as string](...(a as unknown[])),
      [fn, args] as const,
    ),
    new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${fn} did not finish in ${timeoutMs / 1000} s:\n${[...opened.problems, ...opened.lines].join('\n')}`)),
        timeoutMs,
      );
    }),
  ]).finally(() => clearTimeout(timer))) as R;
}
