// Browser backends: onnxruntime-web's wasm and webgpu in headless Chromium (Debian `chromium` +
// playwright-core). The page is served from 127.0.0.1 with cross-origin isolation (so wasm gets its
// threads); it fetches the graph bytes vitkit built in Node, so the rows time vitkit's own graph.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve as resolvePath, sep } from 'node:path';
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

/** Bundles a page script, `<name>.ts` (sources, under vitest) or `<name>.js` (dist), with what it imports. */
async function bundlePage(name: string): Promise<string> {
  const here = dirname(fileURLToPath(import.meta.url));
  const entry = [join(here, `${name}.ts`), join(here, `${name}.js`)].find((p) => existsSync(p))!;
  // Not the app's tsconfig: its paths point @vitkit/* at sources, whose '#platform' then resolves to
  // Node's side. The packages' dist resolves '#platform' by the browser condition, as a user's bundler does.
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    logLevel: 'silent',
    tsconfigRaw: {},
  });
  return result.outputFiles[0].text;
}

function ortDist(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm'));
}

/** transformers.js's own onnxruntime-web (another version than vitkit's): its dist, served at /ort-tjs/. */
function transformersOrtDist(): string {
  const require = createRequire(import.meta.url);
  const tjs = createRequire(require.resolve('@huggingface/transformers'));
  return dirname(tjs.resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm'));
}

/**
 * The pages the runner serves, by URL path, and the page script each loads. `/` is the graph page
 * (page.ts); the library pages run vitkit and transformers.js through their own APIs.
 */
export const PAGES = {
  '/': 'page',
  '/library/vitkit': 'library-vitkit-page',
  '/library/transformers.js': 'library-tjs-page',
} as const;
export type PagePath = keyof typeof PAGES;

/** `rel` (URL-encoded) inside `root`, or undefined for a path that leaves it. */
function insideDir(root: string, rel: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(rel);
  } catch {
    return undefined;
  }
  const file = resolvePath(root, decoded);
  return file.startsWith(`${resolvePath(root)}${sep}`) && !decoded.includes('\0') ? file : undefined;
}

/** Graph files the page may fetch, by URL path. */
export type GraphFiles = Map<string, string>;

export class BrowserRunner {
  private server?: Server;
  private origin = '';
  private readonly graphs: GraphFiles = new Map();
  /** Folders served under a URL prefix (checkpoints, exports). */
  private readonly dirs = new Map<string, string>();
  private readonly scripts = new Map<string, string>();

  /** `pages`: the page paths this run opens (each is bundled once, at start). */
  constructor(private readonly pages: readonly PagePath[] = ['/']) {}

  async start(): Promise<void> {
    for (const p of this.pages) this.scripts.set(p === '/' ? '/bundle.js' : `${p}.js`, await bundlePage(PAGES[p]));
    const dist = ortDist();
    const ortFiles = new Set(await readdir(dist));
    const tjsDist = this.pages.includes('/library/transformers.js') ? transformersOrtDist() : undefined;
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
      const notFound = () => {
        res.statusCode = 404;
        res.end();
      };
      const page = this.pages.find((p) => p === path);
      const dir = [...this.dirs].find(([prefix]) => path.startsWith(prefix));
      if (page) {
        const src = page === '/' ? '/bundle.js' : `${page}.js`;
        send('text/html', `<!doctype html><meta charset="utf-8"><script type="module" src="${src}"></script>`);
      } else if (this.scripts.has(path)) send('text/javascript', this.scripts.get(path)!);
      else if (this.graphs.has(path)) readFile(this.graphs.get(path)!).then((b) => send('application/octet-stream', b));
      else if (dir) {
        const file = insideDir(dir[1], path.slice(dir[0].length));
        if (!file || !existsSync(file) || !statSync(file).isFile()) notFound();
        else {
          // Validators as a static host or the Hub sends them: vitkit's browser graph cache keys on them.
          const st = statSync(file);
          res.setHeader('etag', `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`);
          res.setHeader('last-modified', st.mtime.toUTCString());
          readFile(file).then((b) => send(file.endsWith('.json') ? 'application/json' : 'application/octet-stream', b), notFound);
        }
      } else if (tjsDist && path.startsWith('/ort-tjs/') && /^ort-wasm[\w.-]*\.(wasm|mjs)$/.test(base))
        send(base.endsWith('.wasm') ? 'application/wasm' : 'text/javascript', readFileSync(join(tjsDist, base)));
      else if (ortFiles.has(base) && /\.(wasm|mjs)$/.test(base))
        send(base.endsWith('.wasm') ? 'application/wasm' : 'text/javascript', readFileSync(join(dist, base)));
      else notFound();
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  serveGraph(urlPath: string, file: string): string {
    this.graphs.set(urlPath, file);
    return urlPath;
  }

  /** Serves `dir`'s files under `prefix` (which ends in '/'); returns the prefix as an absolute URL. */
  serveDir(prefix: string, dir: string): string {
    this.dirs.set(prefix, dir);
    return `${this.origin}${prefix}`;
  }

  /**
   * One fresh browser per call, so the peak RSS read from /proc belongs to this model and backend.
   * Returns the page's timings and the largest Chromium process's peak RSS (VmHWM).
   */
  async run(req: PageRequest, timeoutMs = 300_000): Promise<PageResult & { peakRssMb: number }> {
    return this.open<PageRequest, PageResult>('/', req, timeoutMs, req.backend);
  }

  /** One page of `pages` in a fresh browser: its `vitkitBench(req)` answer and the browser's peak RSS. */
  async open<Req, Res>(pagePath: PagePath, req: Req, timeoutMs = 300_000, label: string = pagePath): Promise<Res & { peakRssMb: number }> {
    const [result, peakRssMb] = await this.openLoads<Req, Res>(pagePath, req, 1, timeoutMs, label);
    return { ...result[0], peakRssMb };
  }

  /**
   * The page loaded `loads` times in one fresh browser (one profile, so what the first load cached
   * is there for the next): each load's answer, and the browser's peak RSS over all of them.
   */
  async openLoads<Req, Res>(
    pagePath: PagePath,
    req: Req,
    loads: number,
    timeoutMs = 300_000,
    label: string = pagePath,
  ): Promise<[Res[], number]> {
    const userDataDir = mkdtempSync(join(tmpdir(), 'vitkit-bench-chromium-'));
    const context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      page.setDefaultTimeout(timeoutMs);
      const results: Res[] = [];
      for (let i = 0; i < loads; i++) {
        await page.goto(`${this.origin}${pagePath}`);
        await page.waitForFunction(() => (globalThis as unknown as { vitkitReady?: boolean }).vitkitReady === true);
        // page.evaluate has no timeout of its own, and SwiftShader can spin for minutes: bound it.
        let timer: NodeJS.Timeout | undefined;
        results.push(
          (await Promise.race([
            page.evaluate((r) => (globalThis as unknown as { vitkitBench(r: unknown): Promise<unknown> }).vitkitBench(r), req),
            new Promise((_, reject) => {
              timer = setTimeout(
                () => reject(new Error(`timed out after ${Math.round(timeoutMs / 1000)} s in Chromium (${label})`)),
                timeoutMs,
              );
            }),
          ]).finally(() => clearTimeout(timer))) as Res,
        );
      }
      return [results, chromiumPeakRssMb(userDataDir)];
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
