// Reports: the JSON file, a Markdown summary and a self-contained HTML page with Chart.js charts
// (the library inlined from node_modules, so the page opens offline).
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { BROWSER_LIBRARY_TARGETS, type BrowserLibraryRatios, meetsTarget } from './browser-library.js';
import type { BaselineRow, BenchFile, BenchRow, BrowserLibraryRow, Ceiling, PeakMemoryResult, VariedSizesResult } from './types.js';

// null is a NaN that came through JSON (a child process's row).
const fmt = (v: number | undefined, digits = 1) => (v === undefined || v === null || Number.isNaN(v) ? '–' : v.toFixed(digits));

export function machineLine(f: BenchFile): string {
  const m = f.machine;
  const load = m.loadAverage ? `, load average at start ${m.loadAverage.map((l) => l.toFixed(2)).join(' / ')}` : '';
  return `${m.cpu}, ${m.cores} cores, ${m.memoryGb} GB, ${m.platform}; Node ${m.node}, onnxruntime-node ${m.onnxruntimeNode}${
    m.onnxruntimeWeb ? `, onnxruntime-web ${m.onnxruntimeWeb}` : ''
  }${m.chromium ? `, ${m.chromium}` : ''}${m.transformersJs ? `, transformers.js ${m.transformersJs}` : ''}, vitkit ${m.vitkit}${load}`;
}

export const ROW_COLUMNS = [
  'model',
  'backend',
  'dtype',
  'batch',
  'build ms',
  'session ms',
  'first run ms',
  'p50 ms',
  'p90 ms',
  'images/s',
  'GFLOP/s',
  'of ceiling',
  'ceiling GFLOP/s',
  'peak RSS MB',
  'cos vs fp32',
] as const;

export function rowCells(r: BenchRow): string[] {
  return [
    r.model,
    r.backend,
    r.dtype,
    String(r.batch),
    r.buildMs ? fmt(r.buildMs, 0) : '',
    r.sessionMs ? fmt(r.sessionMs, 0) : '',
    fmt(r.firstRunMs, 1),
    fmt(r.p50Ms, 1),
    fmt(r.p90Ms, 1),
    fmt(r.imagesPerSecond, 1),
    fmt(r.gflops, 1),
    // Above its own ceiling is a bug (a FLOP count, a ceiling shape missing), not a fast row: flagged.
    Number.isFinite(r.ceilingShare) ? `${Math.round(r.ceilingShare * 100)} %${r.ceilingShare > 1 ? ' ⚠' : ''}` : '–',
    r.ceilingName ? `${r.ceilingName} ${fmt(r.ceilingGflops, 1)}` : '–',
    fmt(r.peakRssMb, 0),
    r.cosineVsFp32 === undefined || r.cosineVsFp32 === null ? '' : r.cosineVsFp32.toFixed(5),
  ];
}

function mdTable(head: readonly string[], rows: string[][]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Columns of the anchors table, in Markdown and HTML alike. */
const ANCHOR_HEADERS = [
  'model',
  'runner',
  'input',
  'import ms',
  'cold start ms',
  'first run ms',
  'p50 ms',
  'p90 ms',
  'images/s',
  'peak RSS MB',
  'vitkit p50 / this',
  'vitkit cold / this',
  'vitkit cached cold / this',
];
function baselineCells(b: BaselineRow): string[] {
  return [
    b.model,
    b.runner,
    b.input.join('×'),
    fmt(b.importMs, 0),
    fmt(b.coldStartMs, 0),
    fmt(b.firstRunMs, 1),
    fmt(b.p50Ms, 1),
    fmt(b.p90Ms, 1),
    fmt(b.imagesPerSecond, 1),
    fmt(b.peakRssMb, 0),
    b.vitkitOverBaselineP50 === undefined ? '–' : `${b.vitkitOverBaselineP50.toFixed(2)}×`,
    b.vitkitOverBaselineColdStart === undefined ? '–' : `${b.vitkitOverBaselineColdStart.toFixed(2)}×`,
    b.cachedVitkitOverBaselineColdStart === undefined ? '–' : `${b.cachedVitkitOverBaselineColdStart.toFixed(2)}×`,
  ];
}

/** Columns of the browser-library rows. */
export const LIBRARY_HEADERS = [
  'model',
  'library',
  'dtype',
  'threads',
  'load',
  'cold start ms',
  'of it: fetch + parse ms',
  'first run ms',
  'p50 ms',
  'p90 ms',
  'images/s',
  'renderer peak MB',
  'cos vs fp32',
];
export function libraryCells(r: BrowserLibraryRow): string[] {
  const threads = r.threadsAsked === 'default' ? `default (${r.threads ?? '?'})` : String(r.threadsAsked);
  return [
    r.model,
    r.library,
    r.dtype,
    threads,
    r.load === 'second' ? `second${r.fromCache ? ' (graph cached)' : ''}` : 'first',
    fmt(r.coldStartMs, 0),
    r.loadMs === undefined ? '' : fmt(r.loadMs, 0),
    fmt(r.firstRunMs, 0),
    fmt(r.p50Ms, 1),
    fmt(r.p90Ms, 1),
    fmt(r.imagesPerSecond, 2),
    fmt(r.peakRssMb, 0),
    r.cosineVsFp32 === undefined ? '' : r.cosineVsFp32.toFixed(5),
  ];
}

/** The issue's ratios, each with its target and whether it is met. */
const RATIO_COLUMNS: { key: keyof typeof BROWSER_LIBRARY_TARGETS; head: string; digits: number }[] = [
  { key: 'coldStart', head: 'cold start vitkit ÷ tjs', digits: 2 },
  { key: 'warmP50', head: 'warm p50 ÷ tjs best threads', digits: 2 },
  { key: 'secondLoad', head: 'second load ÷ tjs cold start', digits: 2 },
  { key: 'memory', head: 'renderer peak ÷ tjs', digits: 2 },
  { key: 'int8Speedup', head: 'int8 images/s ÷ vitkit fp32', digits: 2 },
  { key: 'int8Cosine', head: 'int8 cosine to fp32', digits: 5 },
  { key: 'int8VsQ8P50', head: 'int8 p50 ÷ tjs q8 best threads', digits: 2 },
];
export const RATIO_HEADERS = [
  'model',
  ...RATIO_COLUMNS.map(
    (c) => `${c.head} (${c.key === 'int8Speedup' || c.key === 'int8Cosine' ? '≥' : '≤'} ${BROWSER_LIBRARY_TARGETS[c.key]})`,
  ),
];
export function ratioCells(r: BrowserLibraryRatios): string[] {
  return [
    r.model,
    ...RATIO_COLUMNS.map(({ key, digits }) => {
      const v = r[key];
      if (v === undefined) return '–';
      return `${v.toFixed(digits)}${key === 'int8Cosine' ? '' : '×'} ${meetsTarget(key, v) ? '✓' : '✗'}`;
    }),
  ];
}
const LIBRARY_INTRO =
  "Chromium, wasm, batch 1; every measurement a fresh browser; rounds interleaved (cold start, first run and peak: medians over rounds; p50/p90 over every warm run). vitkit: `AutoModel.fromPretrained(url)` (config.json + model.safetensors from a local Hub-layout server) → `warmup` (graph built in the page, session) → `run`, its defaults. transformers.js: `AutoModel.from_pretrained` on the export folder, its defaults, and its best thread setting. ✓/✗: the issue's targets.";

/** The best of each ceiling over the run, one line. */
const ceilingLine = (f: BenchFile) =>
  Object.entries(f.machine.ceilingGflops)
    .map(([name, v]) => `${name} ${v.toFixed(1)}`)
    .join(', ') || 'none measured';

const CEILING_HEADERS = ['model', 'ceiling', 'GFLOP/s', 'set by', 'shapes timed (best run, GFLOP/s)'];
function ceilingCells(c: Ceiling): string[] {
  const shape = (s: Ceiling['shapes'][number]) =>
    `${s.label}${s.cutFrom ? ` (rows of ${s.cutFrom})` : ''}${s.source === 'square' ? ' (square)' : ''}: ${fmt(s.gflops, 1)}`;
  return [c.model ?? '', c.name, fmt(c.gflops, 1), c.best, [...c.shapes.map(shape), ...(c.failed ?? [])].join('; ')];
}

const VARIED_HEADERS = [
  'model',
  'backend',
  'dtype',
  'images (sizes)',
  'heights × widths',
  'RSS after 2 MB',
  'RSS after last MB',
  'RSS ratio (≤ 1.15)',
  'first-seen size ms (median)',
  'repeated size ms (median)',
  'new-size ratio (≤ 1.2)',
  'sessions held / max',
  'duration s',
];
function variedCells(v: VariedSizesResult): string[] {
  const verdict = (x: number, target: number) => `${x.toFixed(2)}× ${x <= target ? '(met)' : '(over)'}`;
  return [
    v.model,
    v.backend,
    v.dtype,
    String(v.images),
    `${v.heights.join('–')} × ${v.widths.join('–')}`,
    fmt(v.rssAfterSecondMb, 0),
    fmt(v.rssAfterLastMb, 0),
    verdict(v.rssRatio, v.targets.rssRatio),
    fmt(v.firstSeenMedianMs, 0),
    fmt(v.repeatMedianMs, 0),
    verdict(v.newSizeRatio, v.targets.newSizeRatio),
    `${v.sessionsHeld} / ${v.maxSessions}`,
    fmt(v.durationS, 0),
  ];
}
const VARIED_IMAGE_HEADERS = ['image', 'size', 'first run ms', 'again ms', 'RSS MB'];
const variedImageCells = (v: VariedSizesResult) =>
  v.perImage.map((p, i) => [String(i + 1), `${p.height}×${p.width}`, fmt(p.firstMs, 0), fmt(p.repeatMs, 0), fmt(p.rssMb, 0)]);

const VARIED_INTRO =
  'One process, batch 1, `model.run({ pixel_values, pixel_mask })` through the public API: each image a new size (drawn deterministically), run once (its first run: a new graph and session where the family builds one per size) and then again. Memory: resident set after image 2 vs after the last; time: the first runs’ median vs the repeats’.';

const PEAK_HEADERS = [
  'model',
  'backend',
  'dtype',
  'input',
  'weights MiB',
  'RSS at start MiB',
  'peak after load MiB',
  'peak after session MiB',
  'peak after run MiB',
  'copies of the weights (≤ 1.25)',
  'load ms',
  'session ms',
  'run ms',
];
function peakCells(p: PeakMemoryResult): string[] {
  return [
    p.model,
    p.backend,
    p.dtype,
    `${p.height}×${p.width}`,
    fmt(p.weightsMb, 0),
    fmt(p.startMb, 0),
    fmt(p.loadedPeakMb, 0),
    fmt(p.sessionPeakMb, 0),
    fmt(p.runPeakMb, 0),
    `${p.copies.toFixed(2)} ${p.copies <= p.target.copies ? '(met)' : '(over)'}`,
    fmt(p.loadMs, 0),
    fmt(p.sessionMs, 0),
    fmt(p.runMs, 0),
  ];
}
const PEAK_INTRO =
  'A process of its own, from a cold start: `AutoModel.fromPretrained` (headers read, weights not), `warmup` (graph built, onnxruntime session; past 1 GiB of weights through ONNX external data), one run. Copies: the peak resident set above the start, over the weights’ size.';

const IMAGE_SETS_HEADERS = ['round', 'runner', 'images', 'images/s', 'CPU ms / image', 'model call p50 ms', 'model busy', 'peak RSS MiB'];
function imageSetsCells(f: BenchFile): string[][] {
  return (f.imageSets?.rounds ?? []).map((r) => [
    String(r.round),
    r.runner,
    String(r.result.images),
    fmt(r.result.imagesPerSecond, 2),
    fmt(r.result.cpuMsPerImage, 0),
    r.result.batchMsP50 === undefined ? '–' : fmt(r.result.batchMsP50, 0),
    r.result.modelBusy === undefined ? '–' : `${(100 * r.result.modelBusy).toFixed(1)} %`,
    String(r.result.peakRssMb),
  ]);
}
function imageSetsLines(f: BenchFile): string[] {
  const s = f.imageSets;
  if (!s) return [];
  const lines = Object.entries(s.summary).map(([k, v]) => `${k}: ${v}`);
  lines.push(`peak RSS, vitkit fp32 end to end: ${s.peakRssMb.at100} MiB at 100 images, ${s.peakRssMb.atAll} MiB at ${s.images}`);
  return lines;
}
const DISTRIBUTED_HEADERS = [
  'round',
  'one process s',
  'queue s',
  'share of one process',
  'enqueue s',
  'first pickup ms',
  'pickup gap p50 ms',
  'first shard outside index ms',
  'later shards outside index ms',
  'shard p50 s',
  'tail ms',
  'merge s',
];
function distributedCells(f: BenchFile): string[][] {
  return (f.imageSetsDistributed?.rounds ?? []).map((r) => [
    String(r.round),
    fmt(r.singleSeconds, 1),
    fmt(r.distributedSeconds, 1),
    `${(100 * r.ratio).toFixed(1)} %`,
    fmt(r.enqueueSeconds, 2),
    r.firstPickupMs.join(' / '),
    String(r.pickupGapMsP50),
    r.outsideIndexMsFirst.join(' / '),
    String(r.outsideIndexMsLaterP50),
    fmt(r.shardSecondsP50, 2),
    String(r.tailMs),
    fmt(r.mergeSeconds, 2),
  ]);
}
const DISTRIBUTED_INTRO =
  "One `vitkit embed <folder>` process (start to exit) against `vitkit queue add` + the workers (started first, waiting) + `vitkit queue merge` on a private redis-server, timed from the enqueue to the merge's exit. Outside index: a shard's time in the sandboxed processor beyond buildImageIndex (on a worker's first shard: the sandbox's start and the model load). Tail: from the first worker's last shard done to the last one's.";
const IMAGE_SETS_INTRO =
  'dinov2-small (real config, synthesized weights) over a folder of JPEGs of mixed sizes, files in → vectors stored, each runner in a process of its own, runners interleaved round by round. model: model.embed on ready pixel batches; vitkit: buildImageIndex (read, hash, decode in a worker, embed, LanceDB); transformers.js: a pipeline("image-feature-extraction") loop over the same files, each vector stored in the same kind of index. Model busy: time inside model.embed over the wall clock.';

const CEILING_INTRO =
  "Each row's share is of its own ceiling (column “ceiling GFLOP/s”): that backend and precision's kernels, timed in the same process, on the model's heaviest shapes and two large square MatMuls, best run.";

/** Rows above their own ceiling: each is a bug to find, listed rather than hidden. */
function overCeilingNote(f: BenchFile): string[] {
  const over = f.results.filter((r) => r.ceilingShare > 1);
  if (!over.length) return [];
  return [
    `${over.length} row(s) above 100 % of their own ceiling (${over
      .map((r) => `${r.model} ${r.backend} ${r.dtype} b${r.batch} ${Math.round(r.ceilingShare * 100)} %`)
      .join(
        ', ',
      )}): a ceiling is the best of the model's own shapes in its precision, so this is a bug (a FLOP count, a shape missing from the ceiling) or load that changed between the ceiling and the row.`,
  ];
}

export function markdownReport(f: BenchFile): string {
  const parts = [
    `# vitkit bench — ${f.startedAt}`,
    '',
    `Machine: ${machineLine(f)}.`,
    '',
    `Command: \`${f.command}\` (${f.durationS.toFixed(0)} s).${f.results.length ? ` ${CEILING_INTRO} Best of each here: ${ceilingLine(f)}.` : ''}`,
  ];
  if (f.results.length) parts.push('', mdTable(ROW_COLUMNS, f.results.map(rowCells)));
  if (f.variedSizes?.length) {
    parts.push('', '## Varied input sizes', '', VARIED_INTRO, '', mdTable(VARIED_HEADERS, f.variedSizes.map(variedCells)));
    for (const v of f.variedSizes) parts.push('', `${v.model}, per image:`, '', mdTable(VARIED_IMAGE_HEADERS, variedImageCells(v)));
  }
  if (f.peakMemory?.length) parts.push('', '## Peak memory', '', PEAK_INTRO, '', mdTable(PEAK_HEADERS, f.peakMemory.map(peakCells)));
  if (f.imageSets)
    parts.push(
      '',
      `## Image sets (${f.imageSets.model}, ${f.imageSets.images} images, batch ${f.imageSets.batch})`,
      '',
      IMAGE_SETS_INTRO,
      '',
      mdTable(IMAGE_SETS_HEADERS, imageSetsCells(f)),
      '',
      ...imageSetsLines(f).map((l) => `- ${l}`),
    );
  const dist = f.imageSetsDistributed;
  if (dist)
    parts.push(
      '',
      `## Image sets, distributed (${dist.workers} workers, ${dist.images} images in ${dist.shards} shards of ${dist.shardSize})`,
      '',
      DISTRIBUTED_INTRO,
      '',
      mdTable(DISTRIBUTED_HEADERS, distributedCells(f)),
      '',
      `Median share of one process's throughput: ${(100 * dist.ratio).toFixed(1)} %.`,
    );
  if (f.ceilings?.length) parts.push('', '## Ceilings', '', mdTable(CEILING_HEADERS, f.ceilings.map(ceilingCells)));
  if (f.baselines.length) {
    parts.push(
      '',
      '## Anchors (same config, same input shape, same run, runners interleaved round by round)',
      '',
      mdTable(ANCHOR_HEADERS, f.baselines.map(baselineCells)),
    );
  }
  if (f.browserLibrary?.rows.length) {
    parts.push(
      '',
      "## Browser: vitkit's library path vs transformers.js",
      '',
      LIBRARY_INTRO,
      '',
      mdTable(RATIO_HEADERS, f.browserLibrary.ratios.map(ratioCells)),
      '',
      mdTable(LIBRARY_HEADERS, f.browserLibrary.rows.map(libraryCells)),
    );
  }
  if (f.skipped.length) {
    parts.push('', '## Not measured', '', ...f.skipped.map((s) => `- ${s.model} · ${s.backend} · ${s.dtype}: ${s.reason} (\`${s.code}\`)`));
  }
  const notes = [...overCeilingNote(f), ...f.notes];
  if (notes.length) parts.push('', '## Notes', '', ...notes.map((n) => `- ${n}`));
  return `${parts.join('\n')}\n`;
}

function chartJsSource(): string {
  const require = createRequire(import.meta.url);
  return readFileSync(join(dirname(require.resolve('chart.js')), 'chart.umd.min.js'), 'utf8');
}

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const inlineJson = (v: unknown) => JSON.stringify(v).replace(/</g, '\\u003c');

/** A colour per model, a dash pattern per backend and precision: one line per model × backend × dtype. */
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22'];
const DASHES = [[], [8, 4], [2, 3], [12, 4, 2, 4], [4, 8]];

/**
 * Batch sizes on a category axis that doubles per step: every power of two up to the largest batch
 * (1, 2, 4, 8, …) plus any other batch timed, so lines with different batches share one axis.
 */
export function batchAxis(batches: readonly number[]): number[] {
  const max = Math.max(0, ...batches);
  const axis = new Set(batches);
  for (let b = 1; b <= max; b *= 2) axis.add(b);
  return [...axis].sort((a, b) => a - b);
}

/** Chart data: computed here so the page only draws. */
export function chartData(f: BenchFile) {
  const models = [...new Set(f.results.map((r) => r.model))];
  const combos = [...new Set(f.results.map((r) => `${r.backend} ${r.dtype}`))];
  const at = (model: string, combo: string, pick: (rows: BenchRow[]) => BenchRow | undefined) =>
    pick(f.results.filter((r) => r.model === model && `${r.backend} ${r.dtype}` === combo));
  const smallest = (rows: BenchRow[]) => rows.sort((a, b) => a.batch - b.batch)[0];
  const largest = (rows: BenchRow[]) => rows.sort((a, b) => b.batch - a.batch)[0];
  const latency = {
    labels: models,
    datasets: combos.map((c) => ({ label: c, data: models.map((m) => at(m, c, smallest)?.p50Ms ?? null) })),
  };
  const share = {
    labels: models,
    datasets: combos.map((c) => ({ label: c, data: models.map((m) => (at(m, c, largest)?.ceilingShare ?? Number.NaN) * 100 || null) })),
  };
  const axis = batchAxis(f.results.map((r) => r.batch));
  const throughput = {
    labels: axis.map(String),
    // A line needs two batches; spanGaps joins a model's points across batches it was not timed at.
    datasets: models.flatMap((m, mi) =>
      combos
        .map((c, ci) => ({
          label: `${m} · ${c}`,
          data: axis.map(
            (b) => f.results.find((r) => r.model === m && `${r.backend} ${r.dtype}` === c && r.batch === b)?.imagesPerSecond ?? null,
          ),
          spanGaps: true,
          borderColor: PALETTE[mi % PALETTE.length],
          backgroundColor: PALETTE[mi % PALETTE.length],
          borderDash: DASHES[ci % DASHES.length],
        }))
        .filter((d) => d.data.filter((v) => v !== null).length > 1),
    ),
  };
  const anchorLabels = [...new Set(f.baselines.map((b) => `${b.model} b${b.batch}`))];
  const anchors = {
    labels: anchorLabels,
    datasets: [...new Set(f.baselines.map((b) => b.runner))].map((runner) => ({
      label: runner,
      data: anchorLabels.map((l) => f.baselines.find((b) => b.runner === runner && `${b.model} b${b.batch}` === l)?.p50Ms ?? null),
    })),
  };
  const v = f.variedSizes?.[0];
  const varied = v
    ? {
        labels: v.perImage.map((p, i) => `${i + 1}: ${p.height}×${p.width}`),
        datasets: [
          { label: 'first run of the size (ms)', data: v.perImage.map((p) => p.firstMs), yAxisID: 'y', borderColor: PALETTE[1] },
          { label: 'same size again (ms)', data: v.perImage.map((p) => p.repeatMs), yAxisID: 'y', borderColor: PALETTE[0] },
          {
            label: 'RSS after the image (MB)',
            data: v.perImage.map((p) => p.rssMb),
            yAxisID: 'rss',
            borderColor: PALETTE[2],
            borderDash: [6, 3],
          },
        ],
      }
    : undefined;
  return { latency, share, throughput, anchors, varied };
}

export function htmlReport(f: BenchFile): string {
  const data = chartData(f);
  const table = (head: readonly string[], rows: string[][]) =>
    `<table><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${rows
      .map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`)
      .join('')}</tbody></table>`;
  const anchorsSection = f.baselines.length
    ? `<h2>Anchors</h2><div class="chart"><canvas id="anchors"></canvas></div>${table(ANCHOR_HEADERS, f.baselines.map(baselineCells))}`
    : '';
  const variedSection = f.variedSizes?.length
    ? `<h2>Varied input sizes</h2><p>${escapeHtml(VARIED_INTRO.replace(/`/g, ''))}</p>${table(VARIED_HEADERS, f.variedSizes.map(variedCells))}
<div class="chart"><canvas id="varied"></canvas></div>${f.variedSizes.map((v) => `<details><summary>${escapeHtml(v.model)}, per image</summary>${table(VARIED_IMAGE_HEADERS, variedImageCells(v))}</details>`).join('')}`
    : '';
  const rowsSection = f.results.length
    ? `<h2>Latency per backend and precision (p50 ms, smallest batch)</h2><div class="chart"><canvas id="latency"></canvas></div>
<h2>Throughput vs batch (images/s; colour: model, dash: backend and precision)</h2><div class="chart tall"><canvas id="throughput"></canvas></div>
<h2>Share of the row's own ceiling (%, largest batch)</h2><div class="chart"><canvas id="share"></canvas></div>
${table(ROW_COLUMNS, f.results.map(rowCells))}`
    : '';
  const peakSection = f.peakMemory?.length
    ? `<h2>Peak memory</h2><p>${escapeHtml(PEAK_INTRO.replace(/`/g, ''))}</p>${table(PEAK_HEADERS, f.peakMemory.map(peakCells))}`
    : '';
  const imageSetsSection = f.imageSets
    ? `<h2>Image sets (${escapeHtml(f.imageSets.model)}, ${f.imageSets.images} images, batch ${f.imageSets.batch})</h2><p>${escapeHtml(IMAGE_SETS_INTRO)}</p>${table(IMAGE_SETS_HEADERS, imageSetsCells(f))}<ul>${imageSetsLines(
        f,
      )
        .map((l) => `<li>${escapeHtml(l)}</li>`)
        .join('')}</ul>${
        f.imageSetsDistributed
          ? `<h2>Image sets, distributed</h2><p>${escapeHtml(DISTRIBUTED_INTRO.replace(/`/g, ''))}</p>${table(DISTRIBUTED_HEADERS, distributedCells(f))}`
          : ''
      }`
    : f.imageSetsDistributed
      ? `<h2>Image sets, distributed</h2><p>${escapeHtml(DISTRIBUTED_INTRO.replace(/`/g, ''))}</p>${table(DISTRIBUTED_HEADERS, distributedCells(f))}`
      : '';
  const librarySection = f.browserLibrary?.rows.length
    ? `<h2>Browser: vitkit's library path vs transformers.js</h2><p>${escapeHtml(LIBRARY_INTRO.replace(/`/g, ''))}</p>${table(RATIO_HEADERS, f.browserLibrary.ratios.map(ratioCells))}${table(LIBRARY_HEADERS, f.browserLibrary.rows.map(libraryCells))}`
    : '';
  const ceilingsSection = f.ceilings?.length ? `<h2>Ceilings</h2>${table(CEILING_HEADERS, f.ceilings.map(ceilingCells))}` : '';
  const notes = [...overCeilingNote(f), ...f.notes];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>vitkit bench ${escapeHtml(f.startedAt)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:24px;color:#222;max-width:1400px}
table{border-collapse:collapse;margin:12px 0;font-size:12px}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}
td:first-child,td:nth-child(2),td:nth-child(3){text-align:left}.chart{width:100%;max-width:1100px;height:360px;margin:16px 0}
.chart.tall{height:480px}code{background:#f3f3f3;padding:1px 4px}
</style></head><body>
<h1>vitkit bench</h1>
<p>${escapeHtml(f.startedAt)} · ${escapeHtml(machineLine(f))}</p>
<p>Command: <code>${escapeHtml(f.command)}</code> · ${f.durationS.toFixed(0)} s${f.results.length ? ` · ${escapeHtml(CEILING_INTRO)} Best of each here: ${escapeHtml(ceilingLine(f))}.` : ''}</p>
${rowsSection}
${variedSection}
${peakSection}
${imageSetsSection}
${ceilingsSection}
${anchorsSection}
${librarySection}
${f.skipped.length ? `<h2>Not measured</h2><ul>${f.skipped.map((s) => `<li>${escapeHtml(`${s.model} · ${s.backend} · ${s.dtype}: ${s.reason}`)}</li>`).join('')}</ul>` : ''}
${notes.length ? `<h2>Notes</h2><ul>${notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>` : ''}
<script>${chartJsSource()}</script>
<script>
const data = ${inlineJson(data)};
const opts = (y) => ({ responsive: true, maintainAspectRatio: false, animation: false, scales: { y: { beginAtZero: true, title: { display: true, text: y } } } });
// Each chart where its section is on the page (a run may have no rows, no anchors, no varied sizes).
const specs = {
  latency: { type: 'bar', data: data.latency, options: opts('ms') },
  throughput: {
    type: 'line',
    data: data.throughput,
    options: {
      ...opts('images/s'),
      plugins: { legend: { position: 'right' } },
      scales: { ...opts('images/s').scales, x: { type: 'category', title: { display: true, text: 'batch (images per run)' } } },
    },
  },
  share: { type: 'bar', data: data.share, options: opts('% of its ceiling') },
  varied: data.varied && {
    type: 'line',
    data: data.varied,
    options: { ...opts('ms'), scales: { y: { beginAtZero: true, title: { display: true, text: 'ms' } }, rss: { position: 'right', beginAtZero: true, title: { display: true, text: 'RSS MB' }, grid: { drawOnChartArea: false } } } },
  },
  anchors: { type: 'bar', data: data.anchors, options: opts('p50 ms') },
};
const charts = Object.entries(specs)
  .filter(([id, spec]) => spec && document.getElementById(id))
  .map(([id, spec]) => new Chart(document.getElementById(id), spec));
window.chartsRendered = charts.length;
</script>
</body></html>
`;
}

export async function writeReports(f: BenchFile, outDir: string, stamp: string): Promise<{ json: string; md: string; html: string }> {
  await mkdir(outDir, { recursive: true });
  const paths = { json: join(outDir, `${stamp}.json`), md: join(outDir, `${stamp}.md`), html: join(outDir, `${stamp}.html`) };
  await writeFile(paths.json, `${JSON.stringify(f, null, 2)}\n`);
  await writeFile(paths.md, markdownReport(f));
  await writeFile(paths.html, htmlReport(f));
  return paths;
}
