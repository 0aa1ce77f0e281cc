// Browser backends: onnxruntime-web's wasm and webgpu in headless Chromium (Debian `chromium` +
// playwright-core). The page is served from 127.0.0.1 with cross-origin isolation (so wasm gets its
// threads); it fetches the graph bytes vitkit built in Node, so the rows time vitkit's own graph.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import type { PageRequest, PageResult } from './page.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--headless',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--enable-unsafe-webgpu',
];

export function haveChromium(): boolean {
  return existsSync(CHROMIUM);
}

/** Bundles page.ts (sources, under vitest) or page.js (dist) with onnxruntime-web. */
async function bundlePage(): Promise<string> {
  const here = dirname(fileURLToPath(import.meta.url));
  const entry = [join(here, 'page.ts'), join(here, 'page.js')].find((p) => existsSync(p))!;
  const result = await build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'browser', write: false, logLevel: 'silent' });
  return result.outputFiles[0].text;
}

function ortDist(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm'));
}

/** Graph files the page may fetch, by URL path. */
export type GraphFiles = Map<string, string>;

export class BrowserRunner {
  private server?: Server;
  private origin = '';
  private readonly graphs: GraphFiles = new Map();
  private script = '';

  async start(): Promise<void> {
    this.script = await bundlePage();
    const dist = ortDist();
    const ortFiles = new Set(await readdir(dist));
    this.server = createServer((req, res) => {
      // Cross-origin isolation: SharedArrayBuffer, hence wasm threads.
      res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
      res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
      const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
      const send = (type: string, body: string | Buffer) => {
        res.setHeader('content-type', type);
        res.end(body);
      };
      const base = path.slice(path.lastIndexOf('/') + 1);
      if (path === '/') send('text/html', '<!doctype html><meta charset="utf-8"><script type="module" src="/bundle.js"></script>');
      else if (path === '/bundle.js') send('text/javascript', this.script);
      else if (this.graphs.has(path)) readFile(this.graphs.get(path)!).then((b) => send('application/octet-stream', b));
      else if (ortFiles.has(base) && /\.(wasm|mjs)$/.test(base))
        send(base.endsWith('.wasm') ? 'application/wasm' : 'text/javascript', readFileSync(join(dist, base)));
      else {
        res.statusCode = 404;
        res.end();
      }
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  serveGraph(urlPath: string, file: string): string {
    this.graphs.set(urlPath, file);
    return urlPath;
  }

  /**
   * One fresh browser per call, so the peak RSS read from /proc belongs to this model and backend.
   * Returns the page's timings and the largest Chromium process's peak RSS (VmHWM).
   */
  async run(req: PageRequest, timeoutMs = 300_000): Promise<PageResult & { peakRssMb: number }> {
    const userDataDir = mkdtempSync(join(tmpdir(), 'vitkit-bench-chromium-'));
    const context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      page.setDefaultTimeout(timeoutMs);
      await page.goto(`${this.origin}/`);
      await page.waitForFunction(() => (globalThis as unknown as { vitkitReady?: boolean }).vitkitReady === true);
      // page.evaluate has no timeout of its own, and SwiftShader can spin for minutes: bound it.
      let timer: NodeJS.Timeout | undefined;
      const result = (await Promise.race([
        page.evaluate((r) => (globalThis as unknown as { vitkitBench(r: unknown): Promise<unknown> }).vitkitBench(r), req),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`timed out after ${Math.round(timeoutMs / 1000)} s in Chromium (${req.backend})`)),
            timeoutMs,
          );
        }),
      ]).finally(() => clearTimeout(timer))) as PageResult;
      return { ...result, peakRssMb: chromiumPeakRssMb(userDataDir) };
    } finally {
      await context.close();
      // A GPU process spinning in SwiftShader can outlive close(); it must not steal the next rows' cores.
      killChromium(userDataDir);
      rmSync(userDataDir, { recursive: true, force: true });
    }
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

export const browserThreads = () => cpus().length;

/** This browser's processes, found by their --user-data-dir. */
function chromiumPids(userDataDir: string): number[] {
  if (!existsSync('/proc')) return [];
  const pids: number[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(userDataDir)) pids.push(Number(pid));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

function killChromium(userDataDir: string): void {
  for (const pid of chromiumPids(userDataDir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // exited meanwhile
    }
  }
}

/** Largest VmHWM among this browser's processes (found by their --user-data-dir): the renderer holding the wasm heap, or the GPU process. */
function chromiumPeakRssMb(userDataDir: string): number {
  if (!existsSync('/proc')) return Number.NaN;
  let peak = 0;
  for (const pid of chromiumPids(userDataDir)) {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) peak = Math.max(peak, Number(m[1]) / 1024);
    } catch {
      // exited meanwhile
    }
  }
  return Math.round(peak);
}
