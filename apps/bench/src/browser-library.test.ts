// The browser-library section's arithmetic (ratios against the targets) and its server: both
// library pages bundle for the browser, and a served folder gives its files and nothing outside it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BrowserRunner } from './browser.js';
import { type BrowserLibraryRow, libraryRatios, meetsTarget } from './browser-library.js';
import { markdownReport, ratioCells } from './report.js';
import type { BenchFile } from './types.js';

const row = (over: Partial<BrowserLibraryRow>): BrowserLibraryRow => ({
  model: 'm',
  library: 'vitkit',
  dtype: 'fp32',
  threadsAsked: 'default',
  threads: 2,
  load: 'first',
  rounds: 3,
  coldStartMs: 1000,
  firstRunMs: 200,
  p50Ms: 100,
  p90Ms: 110,
  imagesPerSecond: 10,
  peakRssMb: 600,
  runs: 30,
  ...over,
});

const ROWS: BrowserLibraryRow[] = [
  row({ library: 'transformers.js', threads: 1, coldStartMs: 2000, p50Ms: 180, imagesPerSecond: 5.56, peakRssMb: 650 }),
  row({ library: 'transformers.js', threadsAsked: 2, coldStartMs: 2100, p50Ms: 150, imagesPerSecond: 6.67, peakRssMb: 660 }),
  row({ coldStartMs: 1100, p50Ms: 100, peakRssMb: 700 }),
  row({ load: 'second', coldStartMs: 700, fromCache: true }),
  row({ dtype: 'int8', p50Ms: 60, imagesPerSecond: 16.67, cosineVsFp32: 0.9991 }),
  row({ library: 'transformers.js', dtype: 'q8', threads: 1, p50Ms: 90 }),
  row({ library: 'transformers.js', dtype: 'q8', threadsAsked: 2, p50Ms: 80 }),
];

describe('libraryRatios', () => {
  it("takes transformers.js's default for cold start and memory, its best thread setting for warm p50", () => {
    expect(libraryRatios('m', ROWS)).toEqual({
      model: 'm',
      coldStart: 0.55, // 1100 / 2000 (default threads)
      warmP50: 0.667, // 100 / 150 (2 threads beat the default's 180)
      secondLoad: 0.35,
      memory: 1.077, // 700 / 650
      int8Speedup: 1.667,
      int8Cosine: 0.9991,
      int8VsQ8P50: 0.75, // 60 / 80
    });
  });

  it('leaves out what a missing row cannot give', () => {
    const r = libraryRatios(
      'm',
      ROWS.filter((x) => x.dtype === 'fp32' && x.load === 'first'),
    );
    expect(r.secondLoad).toBeUndefined();
    expect(r.int8VsQ8P50).toBeUndefined();
    expect(r.coldStart).toBe(0.55);
  });

  it('checks each against its target: at least for int8 speed and cosine, at most for the rest', () => {
    const r = libraryRatios('m', ROWS);
    expect(meetsTarget('coldStart', r.coldStart!)).toBe(true);
    expect(meetsTarget('warmP50', r.warmP50!)).toBe(false);
    expect(meetsTarget('memory', r.memory!)).toBe(false);
    expect(meetsTarget('int8Speedup', r.int8Speedup!)).toBe(true);
    expect(meetsTarget('int8Cosine', 0.997)).toBe(false);
    expect(ratioCells(r)).toEqual(['m', '0.55× ✓', '0.67× ✗', '0.35× ✓', '1.08× ✗', '1.67× ✓', '0.99910 ✓', '0.75× ✓']);
  });

  it('puts the ratios and rows in the Markdown report', () => {
    const file = {
      machine: {
        cpu: 'x',
        cores: 2,
        memoryGb: 8,
        platform: 'linux',
        node: '20',
        onnxruntimeNode: '1.30.0',
        vitkit: '0.1.0',
        ceilingGflops: {},
      },
      command: 'pnpm bench --only browser-library',
      startedAt: 'now',
      durationS: 1,
      results: [],
      skipped: [],
      baselines: [],
      notes: [],
      browserLibrary: { rows: ROWS, ratios: [libraryRatios('m', ROWS)], q8: [] },
    } as unknown as BenchFile;
    const md = markdownReport(file);
    expect(md).toContain("## Browser: vitkit's library path vs transformers.js");
    expect(md).toContain('| m | 0.55× ✓ | 0.67× ✗ |');
    expect(md).toContain('| m | vitkit | fp32 | default (2) | second (graph cached) | 700 |');
  });
});

describe('BrowserRunner for the library pages', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vitkit-served-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('bundles both pages for the browser and serves a folder, nothing outside it', async () => {
    writeFileSync(join(dir, 'config.json'), '{"a":1}');
    const runner = new BrowserRunner(['/library/vitkit', '/library/transformers.js']);
    await runner.start();
    try {
      const base = runner.serveDir('/bench/m/resolve/main/', dir);
      const config = await fetch(`${base}config.json`);
      expect(config.headers.get('etag')).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/); // what the browser graph cache keys on
      expect(await config.json()).toEqual({ a: 1 });
      expect((await fetch(`${base}model.safetensors`)).status).toBe(404);
      expect((await fetch(`${base}..%2F..%2Fetc%2Fpasswd`)).status).toBe(404);
      const origin = new URL(base).origin;
      for (const page of ['/library/vitkit', '/library/transformers.js']) {
        const html = await (await fetch(`${origin}${page}`)).text();
        expect(html).toContain(`src="${page}.js"`);
        const script = await fetch(`${origin}${page}.js`);
        expect(script.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
        expect((await script.text()).length).toBeGreaterThan(100_000); // the library and onnxruntime-web bundled in
      }
      // transformers.js's own onnxruntime-web build, the one its default CDN path names.
      expect((await fetch(`${origin}/ort-tjs/ort-wasm-simd-threaded.asyncify.wasm`)).status).toBe(200);
    } finally {
      await runner.stop();
    }
  }, 120_000);
});
