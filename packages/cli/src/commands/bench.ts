// `vitkit bench`: times a checkpoint and writes the bench's JSON contract for tools. This file is also
// the `@vitkit/cli/bench` entry apps/bench imports: the runner itself (ceilings, rows, the varied-sizes
// and peak-memory runs) lives in ../bench/.
import { join } from 'node:path';
import { VitkitError } from '@vitkit/core';
import { type Command, Option } from 'commander';
import {
  BENCH_DTYPES,
  type BenchReport,
  type BenchRow,
  bestCeilings,
  formatPeakMemory,
  machineInfo,
  NODE_BACKENDS,
  runBench,
  runPeakMemory,
  runVariedSizes,
  type VariedSizesResult,
} from '../bench/runner.js';
import { writeFileAtomic } from '../output-file.js';

export * from '../bench/runner.js';

function parseList<T extends string>(value: string, allowed: readonly T[], what: string): T[] {
  const items = value.split(',').map((s) => s.trim()) as T[];
  for (const i of items) {
    if (!allowed.includes(i))
      throw new VitkitError('INVALID_ARGUMENT', `Unknown ${what} "${i}"; use one or more of ${allowed.join(', ')}.`);
  }
  return items;
}

function parseInts(value: string, what: string): number[] {
  const items = value.split(',').map((s) => Number(s.trim()));
  if (items.some((n) => !Number.isInteger(n) || n < 1))
    throw new VitkitError('INVALID_ARGUMENT', `--${what} takes positive integers, got "${value}".`);
  return items;
}

function parseRange(value: string, what: string): [number, number] {
  const m = /^(\d+)-(\d+)$/.exec(value.trim());
  if (!m) throw new VitkitError('INVALID_ARGUMENT', `--${what} takes a range lo-hi of pixels, e.g. 600-1000, got "${value}".`);
  return [Number(m[1]), Number(m[2])];
}

interface CliOptions {
  model: string;
  name?: string;
  backend: string;
  dtype: string;
  batch: string;
  runs: string;
  threads?: string;
  size?: string;
  saveGraphs?: string;
  variedSizes?: string;
  peakMemory?: boolean;
  heights: string;
  widths: string;
  json?: string;
}

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description(
      'Time a checkpoint: graph build, session, first run, warm p50/p90, images/s, GFLOP/s vs its precision’s GEMM ceiling, peak RSS',
    )
    .requiredOption('--model <dir-or-id>', 'checkpoint folder or Hugging Face id')
    .addOption(new Option('--backend <list>', `node backend(s): ${NODE_BACKENDS.join(', ')}`).default('cpu'))
    .addOption(new Option('--dtype <list>', `precision(s): ${BENCH_DTYPES.join(', ')}`).default('fp32'))
    .option('--batch <list>', 'batch size(s), e.g. 1,8', '1')
    .option('--runs <n>', 'warm runs per row (after one first run)', '15')
    .option('--threads <n>', 'intra-op threads (default: every core)')
    .option('--size <HxW>', 'input size (default: the preprocessor crop; DETR 800x1066)')
    .option('--name <label>', 'model label in the rows')
    .option('--save-graphs <dir>', 'also write each built graph to <dir>/<backend>/<dtype>.onnx')
    .option(
      '--varied-sizes <n>',
      'instead of the rows: feed n images of n different sizes (batch 1) through model.run in this one process; reports RSS after image 2 vs n, and a new size’s time vs a repeated one',
    )
    .option(
      '--peak-memory',
      'instead of the rows: peak RSS of this process after loading, after the session for one input size, and after one run, in copies of the weights',
    )
    .option('--heights <lo-hi>', 'with --varied-sizes: heights drawn from this range', '600-1000')
    .option('--widths <lo-hi>', 'with --varied-sizes: widths drawn from this range', '700-1100')
    .option('--json <file>', 'write { machine, results, skipped, ceilings } to this file ("-" for stdout)')
    .action(async (o: CliOptions) => {
      const backends = parseList(o.backend, NODE_BACKENDS, 'backend');
      const dtypes = parseList(o.dtype, BENCH_DTYPES, 'dtype');
      const send = process.send?.bind(process);
      const tty = !send && process.stderr.isTTY;
      const status = (label: string) => {
        if (send) send({ type: 'progress', label, done: 0, total: 1 });
        else if (tty) process.stderr.write(`\r\x1b[2K${label}`);
      };
      const merged: BenchReport = { machine: machineInfo(), results: [], skipped: [], ceilings: [] };
      if (o.peakMemory) {
        if (backends.length > 1 || dtypes.length > 1)
          throw new VitkitError(
            'INVALID_ARGUMENT',
            '--peak-memory measures one backend and one dtype; pass a single --backend and --dtype.',
          );
        const result = await runPeakMemory({
          model: o.model,
          name: o.name,
          backend: backends[0],
          dtype: dtypes[0],
          threads: o.threads ? Number(o.threads) : undefined,
          size: o.size ? (parseInts(o.size.replace('x', ','), 'size') as [number, number]) : undefined,
          onProgress: (label) => status(`${o.name ?? o.model} peak memory: ${label}`),
        });
        if (tty) process.stderr.write('\r\x1b[2K');
        process.stderr.write(`${formatPeakMemory(result)}\n`);
        merged.peakMemory = [result];
      } else if (o.variedSizes !== undefined) {
        const [count] = parseInts(o.variedSizes, 'varied-sizes');
        if (backends.length > 1 || dtypes.length > 1)
          throw new VitkitError('INVALID_ARGUMENT', '--varied-sizes times one backend and one dtype; pass a single --backend and --dtype.');
        const result = await runVariedSizes({
          model: o.model,
          name: o.name,
          count,
          backend: backends[0],
          dtype: dtypes[0],
          threads: o.threads ? Number(o.threads) : undefined,
          heights: parseRange(o.heights, 'heights'),
          widths: parseRange(o.widths, 'widths'),
          onProgress: (label, done, total) => status(`${o.name ?? o.model} varied sizes ${done + 1}/${total}: ${label}`),
        });
        if (tty) process.stderr.write('\r\x1b[2K');
        process.stderr.write(`${formatVariedSizes(result)}\n`);
        merged.variedSizes = [result];
      } else {
        const batches = parseInts(o.batch, 'batch');
        const [runs] = parseInts(o.runs, 'runs');
        const size = o.size ? (parseInts(o.size.replace('x', ','), 'size') as [number, number]) : undefined;
        for (const backend of backends) {
          const report = await runBench({
            model: o.model,
            name: o.name,
            backend,
            dtypes,
            batches,
            runs,
            threads: o.threads ? Number(o.threads) : undefined,
            size,
            saveGraphDir: o.saveGraphs ? join(o.saveGraphs, backend) : undefined,
            onProgress: (e) => {
              if (send) send(e);
              else if (e.type === 'progress' && tty) process.stderr.write(`\r\x1b[2K${e.label}`);
              else if (e.type === 'row') process.stderr.write(`${tty ? '\r\x1b[2K' : ''}${formatRow(e.row)}\n`);
              else if (e.type === 'skip')
                process.stderr.write(
                  `${tty ? '\r\x1b[2K' : ''}${e.skip.model} ${e.skip.backend} ${e.skip.dtype}: skipped, ${e.skip.reason}\n`,
                );
            },
          });
          merged.results.push(...report.results);
          merged.skipped.push(...report.skipped);
          merged.ceilings?.push(...(report.ceilings ?? []));
          if (report.graphs) merged.graphs = [...(merged.graphs ?? []), ...report.graphs];
        }
        bestCeilings(merged.ceilings ?? [], merged.machine.ceilingGflops);
        if (tty) process.stderr.write('\r\x1b[2K');
      }
      const json = `${JSON.stringify(merged, null, 2)}\n`;
      if (o.json === '-') process.stdout.write(json);
      else if (o.json) await writeFileAtomic(o.json, json);
    });
}

function formatRow(r: BenchRow): string {
  return `${r.model} ${r.backend} ${r.dtype} b${r.batch}: build ${r.buildMs} ms, session ${r.sessionMs} ms, first ${r.firstRunMs} ms, p50 ${r.p50Ms} ms, p90 ${r.p90Ms} ms, ${r.imagesPerSecond} img/s, ${r.gflops} GFLOP/s (${Math.round(r.ceilingShare * 100)}% of the ${r.ceilingName} ceiling, ${r.ceilingGflops} GFLOP/s), peak RSS ${r.peakRssMb} MB`;
}

function formatVariedSizes(v: VariedSizesResult): string {
  return `${v.model} ${v.backend} ${v.dtype}, ${v.images} sizes in ${v.heights.join('–')} × ${v.widths.join('–')}: RSS ${v.rssAfterSecondMb} MB after image 2, ${v.rssAfterLastMb} MB after image ${v.images} (×${v.rssRatio}, target ≤ ${v.targets.rssRatio}); new size ${v.firstSeenMedianMs} ms vs repeated ${v.repeatMedianMs} ms (×${v.newSizeRatio}, target ≤ ${v.targets.newSizeRatio}); ${v.sessionsHeld}/${v.maxSessions} sessions held; ${v.durationS} s`;
}
