// The HTML report is self-contained and its charts draw: opened in headless Chromium, every canvas
// has painted pixels. Needs /usr/bin/chromium (or CHROMIUM_PATH); skipped without it unless CI=true.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS, haveChromium } from './browser.js';
import { htmlReport, markdownReport, writeReports } from './report.js';
import type { BenchFile, BenchRow } from './types.js';

const row = (model: string, backend: string, dtype: string, batch: number, p50: number): BenchRow => ({
  model,
  backend,
  dtype,
  batch,
  buildMs: 120,
  sessionMs: 300,
  firstRunMs: p50 * 2,
  p50Ms: p50,
  p90Ms: p50 * 1.1,
  imagesPerSecond: (1000 * batch) / p50,
  gflops: (9.2 * batch) / (p50 / 1000),
  ceilingShare: (9.2 * batch) / (p50 / 1000) / 200,
  peakRssMb: 400,
});

const SAMPLE: BenchFile = {
  machine: {
    cpu: 'Test CPU',
    cores: 2,
    memoryGb: 8,
    platform: 'linux-x64',
    node: 'v20',
    onnxruntimeNode: '1.30.0',
    vitkit: '0.1.0',
    ceilingGflops: { cpu: 200 },
  },
  command: 'pnpm bench',
  startedAt: '2025-01-01T00:00:00.000Z',
  durationS: 1,
  results: [
    row('dinov2-small', 'cpu', 'fp32', 1, 70),
    row('dinov2-small', 'cpu', 'fp32', 8, 400),
    row('dinov2-small', 'cpu', 'int8', 1, 40),
    row('dinov2-small', 'cpu', 'int8', 8, 220),
    row('dinov2-small', 'browser-wasm', 'fp32', 1, 150),
  ],
  skipped: [{ model: 'dinov2-small', backend: 'cuda', dtype: 'fp32', code: 'BACKEND_UNAVAILABLE', reason: 'no CUDA provider </script>' }],
  baselines: [
    {
      model: 'dinov2-small',
      runner: 'onnxruntime',
      folder: '/x',
      batch: 1,
      input: [1, 3, 224, 224],
      rounds: 3,
      importMs: 40,
      coldStartMs: 900,
      firstRunMs: 100,
      p50Ms: 70,
      p90Ms: 75,
      imagesPerSecond: 14,
      peakRssMb: 300,
      runs: 10,
      vitkitOverBaselineP50: 0.9,
      vitkitOverBaselineColdStart: 0.8,
      cachedVitkitOverBaselineColdStart: 0.45,
    },
    {
      model: 'dinov2-small',
      runner: 'vitkit (cached)',
      folder: '/y',
      batch: 1,
      input: [1, 3, 224, 224],
      rounds: 3,
      importMs: 120,
      coldStartMs: 405,
      firstRunMs: 90,
      p50Ms: 63,
      p90Ms: 66,
      imagesPerSecond: 15.9,
      peakRssMb: 350,
      runs: 30,
    },
  ],
  notes: ['a note'],
};

describe('reports', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vitkit-bench-report-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes JSON, Markdown and a self-contained HTML page', async () => {
    const paths = await writeReports(SAMPLE, dir, 'stamp');
    expect(JSON.parse(readFileSync(paths.json, 'utf8'))).toEqual(SAMPLE);
    const md = markdownReport(SAMPLE);
    expect(md).toContain('| dinov2-small | cpu | int8 | 8 |');
    expect(md).toContain('0.90×');
    expect(md).toContain('| dinov2-small | vitkit (cached) | 1×3×224×224 | 120 | 405 |');
    expect(md).toContain('0.45×');
    const html = htmlReport(SAMPLE);
    expect(html).not.toMatch(/<script[^>]+src=/); // Chart.js is inlined
    expect(html).not.toContain('no CUDA provider </script>');
  });

  it.skipIf(!haveChromium() && process.env.CI !== 'true')('renders its charts in headless Chromium', async () => {
    const path = join(dir, 'render.html');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path, htmlReport(SAMPLE));
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS, '--disable-gpu'] });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(`file://${path}`);
      await page.waitForFunction(() => (globalThis as unknown as { chartsRendered?: number }).chartsRendered !== undefined);
      const painted = await page.evaluate(() =>
        [...document.querySelectorAll('canvas')].map((c) => {
          const ctx = (c as HTMLCanvasElement).getContext('2d')!;
          const { data } = ctx.getImageData(0, 0, c.width, c.height);
          let n = 0;
          for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) n++;
          return { id: c.id, width: c.width, painted: n };
        }),
      );
      expect(errors).toEqual([]);
      expect(painted.map((p) => p.id)).toEqual(['latency', 'throughput', 'share', 'anchors']);
      for (const p of painted) {
        expect(p.width, p.id).toBeGreaterThan(100);
        expect(p.painted, p.id).toBeGreaterThan(1000);
      }
    } finally {
      await browser.close();
    }
  });
});
