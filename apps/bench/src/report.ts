// Reports: the JSON file, a Markdown summary and a self-contained HTML page with Chart.js charts
// (the library inlined from node_modules, so the page opens offline).
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { BaselineRow, BenchFile, BenchRow } from './types.js';

const fmt = (v: number | undefined, digits = 1) => (v === undefined || Number.isNaN(v) ? '–' : v.toFixed(digits));

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
    Number.isFinite(r.ceilingShare) ? `${Math.round(r.ceilingShare * 100)} %` : '–',
    fmt(r.peakRssMb, 0),
    r.cosineVsFp32 === undefined ? '' : r.cosineVsFp32.toFixed(5),
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

export function markdownReport(f: BenchFile): string {
  const parts = [
    `# vitkit bench — ${f.startedAt}`,
    '',
    `Machine: ${machineLine(f)}.`,
    '',
    `Command: \`${f.command}\` (${f.durationS.toFixed(0)} s). MatMul ceiling (GFLOP/s, same run): ${Object.entries(f.machine.ceilingGflops)
      .map(([b, v]) => `${b} ${v.toFixed(1)}`)
      .join(', ')}.`,
    '',
    mdTable(ROW_COLUMNS, f.results.map(rowCells)),
  ];
  if (f.baselines.length) {
    parts.push(
      '',
      '## Anchors (same config, same input shape, same run, runners interleaved round by round)',
      '',
      mdTable(ANCHOR_HEADERS, f.baselines.map(baselineCells)),
    );
  }
  if (f.skipped.length) {
    parts.push('', '## Not measured', '', ...f.skipped.map((s) => `- ${s.model} · ${s.backend} · ${s.dtype}: ${s.reason} (\`${s.code}\`)`));
  }
  if (f.notes.length) parts.push('', '## Notes', '', ...f.notes.map((n) => `- ${n}`));
  return `${parts.join('\n')}\n`;
}

function chartJsSource(): string {
  const require = createRequire(import.meta.url);
  return readFileSync(join(dirname(require.resolve('chart.js')), 'chart.umd.min.js'), 'utf8');
}

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const inlineJson = (v: unknown) => JSON.stringify(v).replace(/</g, '\\u003c');

/** Chart data: computed here so the page only draws. */
function chartData(f: BenchFile) {
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
  const batches = [...new Set(f.results.map((r) => r.batch))].sort((a, b) => a - b);
  const throughput = {
    labels: batches.map(String),
    datasets: models.flatMap((m) =>
      combos
        .map((c) => ({
          label: `${m} · ${c}`,
          data: batches.map(
            (b) => f.results.find((r) => r.model === m && `${r.backend} ${r.dtype}` === c && r.batch === b)?.imagesPerSecond ?? null,
          ),
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
  return { latency, share, throughput, anchors };
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
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>vitkit bench ${escapeHtml(f.startedAt)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:24px;color:#222;max-width:1400px}
table{border-collapse:collapse;margin:12px 0;font-size:12px}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}
td:first-child,td:nth-child(2),td:nth-child(3){text-align:left}.chart{width:100%;max-width:1100px;height:360px;margin:16px 0}
code{background:#f3f3f3;padding:1px 4px}
</style></head><body>
<h1>vitkit bench</h1>
<p>${escapeHtml(f.startedAt)} · ${escapeHtml(machineLine(f))}</p>
<p>Command: <code>${escapeHtml(f.command)}</code> · ${f.durationS.toFixed(0)} s · MatMul ceiling (GFLOP/s, same run): ${escapeHtml(
    Object.entries(f.machine.ceilingGflops)
      .map(([b, v]) => `${b} ${v.toFixed(1)}`)
      .join(', '),
  )}</p>
<h2>Latency per backend and precision (p50 ms, smallest batch)</h2><div class="chart"><canvas id="latency"></canvas></div>
<h2>Throughput vs batch (images/s)</h2><div class="chart"><canvas id="throughput"></canvas></div>
<h2>Share of the MatMul ceiling (%, largest batch)</h2><div class="chart"><canvas id="share"></canvas></div>
${table(ROW_COLUMNS, f.results.map(rowCells))}
${anchorsSection}
${f.skipped.length ? `<h2>Not measured</h2><ul>${f.skipped.map((s) => `<li>${escapeHtml(`${s.model} · ${s.backend} · ${s.dtype}: ${s.reason}`)}</li>`).join('')}</ul>` : ''}
${f.notes.length ? `<h2>Notes</h2><ul>${f.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>` : ''}
<script>${chartJsSource()}</script>
<script>
const data = ${inlineJson(data)};
const opts = (y) => ({ responsive: true, maintainAspectRatio: false, animation: false, scales: { y: { beginAtZero: true, title: { display: true, text: y } } } });
const charts = [
  new Chart(document.getElementById('latency'), { type: 'bar', data: data.latency, options: opts('ms') }),
  new Chart(document.getElementById('throughput'), { type: 'line', data: data.throughput, options: { ...opts('images/s'), scales: { ...opts('images/s').scales, x: { title: { display: true, text: 'batch' } } } } }),
  new Chart(document.getElementById('share'), { type: 'bar', data: data.share, options: opts('% of ceiling') }),
];
const anchors = document.getElementById('anchors');
if (anchors) charts.push(new Chart(anchors, { type: 'bar', data: data.anchors, options: opts('p50 ms') }));
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
