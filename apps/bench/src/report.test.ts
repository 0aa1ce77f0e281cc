// The HTML report is self-contained and its charts draw: opened in headless Chromium, every canvas
// has painted pixels. Needs /usr/bin/chromium (or CHROMIUM_PATH); skipped without it unless CI=true.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS, haveChromium } from './browser.js';
import { batchAxis, chartData, htmlReport, markdownReport, writeReports } from './report.js';
import type { BenchFile, BenchRow, VariedSizesResult } from './types.js';

const CEILINGS: Record<string, number> = { 'cpu fp32': 200, 'cpu int8': 400, 'browser-wasm fp32': 50 };

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
  ceilingShare: (9.2 * batch) / (p50 / 1000) / CEILINGS[`${backend} ${dtype}`],
  ceilingName: `${backend} ${dtype}`,
  ceilingGflops: CEILINGS[`${backend} ${dtype}`],
  peakRssMb: 400,
});

const VARIED: VariedSizesResult = {
  model: 'detr-resnet-50',
  architecture: 'DetrForObjectDetection',
  backend: 'cpu',
  dtype: 'fp32',
  batch: 1,
  images: 3,
  heights: [600, 1000],
  widths: [700, 1100],
  inputs: ['pixel_values', 'pixel_mask'],
  maxSessions: 4,
  sessionsHeld: 3,
  loadMs: 900,
  rssAfterSecondMb: 1000,
  rssAfterLastMb: 1300,
  rssRatio: 1.3,
  firstSeenMedianMs: 4000,
  repeatMedianMs: 1500,
  newSizeRatio: 2.667,
  targets: { rssRatio: 1.15, newSizeRatio: 1.2 },
  durationS: 20,
  perImage: [
    { height: 700, width: 900, firstMs: 4200, repeatMs: 1500, rssMb: 900 },
    { height: 820, width: 1011, firstMs: 4000, repeatMs: 1600, rssMb: 1000 },
    { height: 640, width: 777, firstMs: 3900, repeatMs: 1400, rssMb: 1300 },
  ],
};

const SAMPLE: BenchFile = {
  machine: {
    cpu: 'Test CPU',
    cores: 2,
    memoryGb: 8,
    platform: 'linux-x64',
    node: 'v20',
    onnxruntimeNode: '1.30.0',
    vitkit: '0.1.0',
    ceilingGflops: CEILINGS,
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
    row('detr-resnet-50', 'cpu', 'fp32', 1, 1300),
    row('detr-resnet-50', 'cpu', 'fp32', 2, 2500),
  ],
  ceilings: [
    {
      name: 'cpu int8',
      backend: 'cpu',
      dtype: 'int8',
      model: 'dinov2-small',
      gflops: 400,
      best: 'MatMul [2056×384]·[384×1536]',
      shapes: [
        { label: 'MatMul [2056×384]·[384×1536]', source: 'model', gflops: 400, bestMs: 10, runs: 6 },
        { label: 'MatMul [1024×1024]·[1024×1024]', source: 'square', gflops: 310, bestMs: 14, runs: 6 },
      ],
    },
  ],
  variedSizes: [VARIED],
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

  it('says which ceiling each row is a share of, and lists the ceilings with the shapes timed', () => {
    const md = markdownReport(SAMPLE);
    // dinov2 int8 b8: 9.2·8 GFLOP in 0.22 s = 334.5 GFLOP/s, 84 % of the int8 ceiling (400), not 167 % of fp32's.
    expect(md).toContain('| dinov2-small | cpu | int8 | 8 |');
    expect(md).toMatch(/\| 334\.5 \| 84 % \| cpu int8 400\.0 \|/);
    expect(md).toContain('| dinov2-small | cpu int8 | 400.0 | MatMul [2056×384]·[384×1536] |');
    expect(md).toContain('MatMul [1024×1024]·[1024×1024] (square): 310.0');
    expect(md).toContain('cpu fp32 200.0, cpu int8 400.0');
    // A row above its own ceiling is flagged as the bug it is.
    const over = markdownReport({ ...SAMPLE, results: [{ ...SAMPLE.results[0], ceilingShare: 1.3 }] });
    expect(over).toContain('130 % ⚠');
    expect(over).toMatch(/1 row\(s\) above 100 % of their own ceiling \(dinov2-small cpu fp32 b1 130 %\)/);
  });

  it('reports the varied-sizes section: RSS after image 2 and the last, new vs repeated size, against the targets', () => {
    const md = markdownReport(SAMPLE);
    expect(md).toContain('## Varied input sizes');
    expect(md).toContain(
      '| detr-resnet-50 | cpu | fp32 | 3 | 600–1000 × 700–1100 | 1000 | 1300 | 1.30× (over) | 4000 | 1500 | 2.67× (over) | 3 / 4 | 20 |',
    );
    expect(md).toContain('| 2 | 820×1011 | 4000 | 1600 | 1000 |');
    expect(htmlReport(SAMPLE)).toContain('<canvas id="varied">');
    // `--only varied-sizes`: no rows, so no empty rows table or charts.
    const only = { ...SAMPLE, results: [], ceilings: [], baselines: [] };
    expect(markdownReport(only)).not.toContain('| model | backend | dtype | batch |');
    expect(htmlReport(only)).not.toContain('<canvas id="latency">');
  });

  it('reports the peak-memory section against its target of copies of the weights', () => {
    const peak = {
      model: 'dinov2-giant',
      architecture: 'Dinov2Model',
      backend: 'cpu',
      dtype: 'fp32',
      height: 224,
      width: 224,
      weightsMb: 4335.4,
      startMb: 60,
      loadedPeakMb: 62,
      sessionPeakMb: 4581,
      runPeakMb: 4590,
      copies: 1.046,
      target: { copies: 1.25 },
      loadMs: 30,
      sessionMs: 34000,
      runMs: 6000,
    } as const;
    const md = markdownReport({ ...SAMPLE, peakMemory: [peak, { ...peak, model: 'held-twice', copies: 2.1 }] });
    expect(md).toContain('## Peak memory');
    expect(md).toContain('| dinov2-giant | cpu | fp32 | 224×224 | 4335 | 60 | 62 | 4581 | 4590 | 1.05 (met) | 30 | 34000 | 6000 |');
    expect(md).toContain('| held-twice | cpu | fp32 | 224×224 | 4335 | 60 | 62 | 4581 | 4590 | 2.10 (over) |');
    expect(htmlReport({ ...SAMPLE, peakMemory: [peak] })).toContain('<h2>Peak memory</h2>');
    expect(markdownReport(SAMPLE)).not.toContain('## Peak memory');
  });

  it('reports the image-sets sections: each round and runner, the ratios, peak RSS, and the distributed rounds', () => {
    const result = { images: 500, seconds: 50, imagesPerSecond: 10, cpuMsPerImage: 170, peakRssMb: 650 };
    const md = markdownReport({
      ...SAMPLE,
      imageSets: {
        model: 'dinov2-small',
        images: 500,
        batch: 16,
        rounds: [
          { round: 1, runner: 'vitkit fp32', result: { ...result, modelBusy: 0.912, batchMsP50: 1400 } },
          { round: 1, runner: 'transformers.js', result: { ...result, imagesPerSecond: 3.7, cpuMsPerImage: 270, peakRssMb: 430 } },
        ],
        peakRssMb: { at100: 640, atAll: 650 },
        summary: { 'vitkit fp32 / transformers.js': 2.7 },
        skipped: [],
      },
      imageSetsDistributed: {
        images: 500,
        shards: 10,
        shardSize: 50,
        workers: 2,
        ratio: 0.93,
        rounds: [
          {
            round: 1,
            singleSeconds: 55,
            distributedSeconds: 59.1,
            ratio: 0.93,
            enqueueSeconds: 1.2,
            mergeSeconds: 1.1,
            firstPickupMs: [40, 45],
            pickupGapMsP50: 12,
            outsideIndexMsFirst: [1800, 1900],
            outsideIndexMsLaterP50: 20,
            shardSecondsP50: 10.5,
            tailMs: 900,
          },
        ],
      },
    });
    expect(md).toContain('## Image sets (dinov2-small, 500 images, batch 16)');
    expect(md).toContain('| 1 | vitkit fp32 | 500 | 10.00 | 170 | 1400 | 91.2 % | 650 |');
    expect(md).toContain('| 1 | transformers.js | 500 | 3.70 | 270 | – | – | 430 |');
    expect(md).toContain('- vitkit fp32 / transformers.js: 2.7');
    expect(md).toContain('640 MiB at 100 images, 650 MiB at 500');
    expect(md).toContain('| 1 | 55.0 | 59.1 | 93.0 % | 1.20 | 40 / 45 | 12 | 1800 / 1900 | 20 | 10.50 | 900 | 1.10 |');
    expect(markdownReport(SAMPLE)).not.toContain('## Image sets');
  });

  it('draws throughput on a batch axis that doubles (1, 2, 4, 8), one line per model × backend × dtype', () => {
    expect(batchAxis([8, 1, 2, 8])).toEqual([1, 2, 4, 8]);
    expect(batchAxis([1, 3, 16])).toEqual([1, 2, 3, 4, 8, 16]);
    const { throughput } = chartData(SAMPLE);
    expect(throughput.labels).toEqual(['1', '2', '4', '8']);
    expect(throughput.datasets.map((d) => d.label)).toEqual([
      'dinov2-small · cpu fp32',
      'dinov2-small · cpu int8',
      'detr-resnet-50 · cpu fp32',
    ]); // the single browser row has no line
    const [fp32, int8, detr] = throughput.datasets;
    expect(fp32.data).toEqual([1000 / 70, null, null, 8000 / 400]);
    expect(detr.data).toEqual([1000 / 1300, 2000 / 2500, null, null]);
    // Gaps spanned so a model timed at 1 and 8 still has a line; a colour per model, a dash per backend and precision.
    expect(throughput.datasets.every((d) => d.spanGaps)).toBe(true);
    expect(fp32.borderColor).toBe(int8.borderColor);
    expect(detr.borderColor).not.toBe(fp32.borderColor);
    expect(fp32.borderDash).not.toEqual(int8.borderDash);
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
      expect(painted.map((p) => p.id)).toEqual(['latency', 'throughput', 'share', 'varied', 'anchors']);
      for (const p of painted) {
        expect(p.width, p.id).toBeGreaterThan(100);
        expect(p.painted, p.id).toBeGreaterThan(1000);
      }
    } finally {
      await browser.close();
    }
  });
});
