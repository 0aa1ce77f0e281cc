#!/usr/bin/env node
// `pnpm bench`: families × backends × precisions × batch sizes on real-size models with synthesized
// weights (no download), or `--model <dir-or-id>`; `--baseline ... --onnx <folder>` for the anchors.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  assembleRow,
  BACKEND_DTYPES,
  BENCH_DTYPES,
  bestCeilings,
  type Ceiling,
  type CeilingTiming,
  ceilingCandidates,
  ceilingFromTimings,
  ceilingGraph,
  ceilingKind,
  ceilingRuns,
  cosineSimilarity,
  defaultInputSize,
  machineInfo,
  opShapeLabel,
  type PeakMemoryResult,
  percentile,
  type VariedSizesResult,
  webgpuIsSwiftShader,
} from '@vitkit/cli/bench';
import { Command } from 'commander';
import pc from 'picocolors';
import { BASELINE_RUNNERS, type BaselineRunner, runBaseline } from './baseline.js';
import type { BaselineRequest, BaselineResult } from './baseline-child.js';
import { BrowserRunner, CHROMIUM, haveChromium } from './browser.js';
import { type BrowserLibraryResult, browserLibraryRun } from './browser-library.js';
import { CONFIGS_DIR, DEFAULT_MODELS, type DefaultModel, defaultCacheDir, syntheticCheckpoint } from './checkpoints.js';
import { runCli } from './cli-child.js';
import { distributedSection, imageSetsSection } from './image-sets.js';
import { LiveTable } from './live-table.js';
import { writeReports } from './report.js';
import type {
  BaselineRow,
  BenchFile,
  BenchRow,
  BenchSkip,
  CliReport,
  DistributedReport,
  ImageSetsReport,
  MachineInfo,
  SavedGraph,
} from './types.js';

const ALL_BACKENDS = ['cpu', 'webgpu', 'cuda', 'browser-wasm', 'browser-webgpu'] as const;
type Backend = (typeof ALL_BACKENDS)[number];
/** Sections `--only` can pick. */
const SECTIONS = ['rows', 'varied-sizes', 'peak-memory', 'image-sets', 'image-sets-distributed', 'browser-library'] as const;
/**
 * What runs without `--only`. peak-memory writes a 4.5 GB checkpoint (once, into the cache) and takes
 * minutes on top of the rows; image-sets (500 images, five runners, two rounds) and
 * image-sets-distributed (two rounds of one process against two workers on Redis) take several more;
 * browser-library needs the perf exports (`--onnx`) and takes about 2 minutes a model a round (7 fresh
 * browsers). So each is asked for by name.
 */
const DEFAULT_SECTIONS: readonly Section[] = ['rows', 'varied-sizes'];
type Section = (typeof SECTIONS)[number];
/** The peak-memory section's checkpoint: dinov2-giant's config, the largest of the DINO family on the Hub (fp32 > 4 GiB). */
const PEAK_MEMORY_MODEL = 'dinov2-giant';
/** The model the varied-sizes run feeds photos of many sizes: DETR keeps the aspect ratio, so each is a new size. */
const VARIED_SIZES_MODEL = 'detr-resnet-50';
/** webgpu here is SwiftShader (Vulkan on the CPU): batch 1 and the minimum runs keep it to minutes. */
const WEBGPU_RUNS = 10;
/**
 * One model × backend × precision in Chromium; past this it is reported as timed out. The SwiftShader
 * row (dino-vits16 at 32×32) takes ≈ 50 s; a real-size graph there would run for many minutes.
 */
const BROWSER_TIMEOUT_MS = 150_000;
const SWIFTSHADER_BROWSER_TIMEOUT_MS = 100_000;

interface MainOptions {
  model?: string;
  models?: string;
  backends: string;
  dtypes: string;
  batch?: string;
  runs?: string;
  size?: string;
  baseline?: string;
  onnx: string[];
  rounds: string;
  out: string;
  cacheDir: string;
  only?: string;
  variedSizes: string;
  imageSetsImages: string;
  imageSetsRounds: string;
  imageSetsShardSize: string;
  imageSetsTjs?: string;
}

interface Target {
  name: string;
  checkpoint: string;
  batches: number[];
  runs: number;
  size?: [number, number];
  /** Run on webgpu (node and Chromium), at this input size if given. */
  webgpu: boolean;
  webgpuSize?: [number, number];
  /** Only these precisions (else every one asked). */
  dtypes?: string[];
  nodeOnly?: boolean;
}

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function versionOf(pkg: string): string | undefined {
  const require = createRequire(import.meta.url);
  try {
    let dir = dirname(require.resolve(pkg));
    for (let i = 0; i < 6; i++, dir = dirname(dir)) {
      const p = join(dir, 'package.json');
      if (existsSync(p)) {
        const json = JSON.parse(readFileSync(p, 'utf8')) as { name?: string; version?: string };
        if (json.name === pkg) return json.version;
      }
    }
  } catch {
    return undefined;
  }
  return undefined;
}

function chromiumVersion(): string | undefined {
  if (!haveChromium()) return undefined;
  try {
    return execFileSync(CHROMIUM, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

/** The runner's machine facts, plus what only the bench app has: Chromium, onnxruntime-web, transformers.js, load. */
function machine(): MachineInfo {
  return {
    ...machineInfo(),
    onnxruntimeWeb: versionOf('onnxruntime-web'),
    transformersJs: versionOf('@huggingface/transformers'),
    chromium: chromiumVersion(),
    loadAverage: loadavg(),
  };
}

/** Input size as `vitkit bench` picks it: the registered family's default for the folder's config. */
function inputSize(folder: string): [number, number] {
  const read = (name: string) =>
    existsSync(join(folder, name)) ? (JSON.parse(readFileSync(join(folder, name), 'utf8')) as Record<string, unknown>) : undefined;
  return defaultInputSize(read('config.json') ?? {}, read('preprocessor_config.json'));
}

function hasWeights(folder: string): boolean {
  return ['model.safetensors', 'pytorch_model.bin', 'model.safetensors.index.json'].some((f) => existsSync(join(folder, f)));
}

const median = (xs: number[]) => percentile(xs, 50);
const p90 = (xs: number[]) => percentile(xs, 90);
const r2 = (v: number) => Math.round(v * 100) / 100;

class Run {
  readonly results: BenchRow[] = [];
  readonly skipped: BenchSkip[] = [];
  readonly baselines: BaselineRow[] = [];
  readonly ceilings: Ceiling[] = [];
  readonly variedSizes: VariedSizesResult[] = [];
  readonly peakMemory: PeakMemoryResult[] = [];
  imageSets: ImageSetsReport | undefined;
  imageSetsDistributed: DistributedReport | undefined;
  readonly notes: string[] = [];
  browserLibrary?: BrowserLibraryResult;
  readonly machine = machine();
  readonly table = new LiveTable();

  addCli(report: CliReport): void {
    this.addCeilings(report.ceilings ?? []);
    this.variedSizes.push(...(report.variedSizes ?? []));
    this.peakMemory.push(...(report.peakMemory ?? []));
  }

  addCeilings(ceilings: readonly Ceiling[]): void {
    this.ceilings.push(...ceilings);
    bestCeilings(ceilings, this.machine.ceilingGflops);
  }

  row(r: BenchRow): void {
    this.results.push(r);
    this.table.row(r);
  }

  skip(s: BenchSkip): void {
    this.skipped.push(s);
    this.table.skip(s);
  }

  cli(args: string[], label: string): Promise<CliReport> {
    return runCli(args, (e) => {
      if (e.type === 'progress') this.table.status(e.label);
      else if (e.type === 'row') this.row(e.row);
      else this.skip(e.skip);
    }).then(
      (report) => {
        this.addCli(report);
        return report;
      },
      (error: Error) => {
        this.skip({ model: label, backend: args[args.indexOf('--backend') + 1], dtype: '*', code: 'BENCH_FAILED', reason: error.message });
        return undefined as unknown as CliReport;
      },
    );
  }
}

const SWIFTSHADER_SKIP =
  'webgpu here is SwiftShader (Vulkan on the CPU, ~0.15 GFLOP/s: one real-size run takes over a minute); the default run times dino-vits16 at 32×32 there';

async function nodeRows(
  run: Run,
  t: Target,
  backends: Backend[],
  dtypes: string[],
  graphDir: string,
): Promise<{ cpu: SavedGraph[]; webgpu: SavedGraph[] }> {
  const graphs = { cpu: [] as SavedGraph[], webgpu: [] as SavedGraph[] };
  const common = ['--model', t.checkpoint, '--name', t.name, ...(t.size ? ['--size', `${t.size[0]}x${t.size[1]}`] : [])];
  // Each child times its own ceilings (per precision, on the model's shapes) just before its rows.
  if (backends.includes('cpu')) {
    // Every precision asked for: the runner reports fp16 as not built for cpu.
    const report = await run.cli(
      [
        ...common,
        '--backend',
        'cpu',
        '--dtype',
        dtypes.join(','),
        '--batch',
        t.batches.join(','),
        '--runs',
        String(t.runs),
        '--save-graphs',
        graphDir,
      ],
      t.name,
    );
    if (report?.graphs) graphs.cpu.push(...report.graphs);
  }
  if (backends.includes('webgpu')) {
    if (!t.webgpu) {
      run.skip({ model: t.name, backend: 'webgpu', dtype: '*', code: 'SKIPPED_ON_SWIFTSHADER', reason: SWIFTSHADER_SKIP });
    } else {
      const d = dtypes.filter((x) => BACKEND_DTYPES.webgpu.includes(x as 'fp32'));
      const size = t.webgpuSize ?? t.size;
      const args = [...common.slice(0, 4), ...(size ? ['--size', `${size[0]}x${size[1]}`] : [])];
      const report = await run.cli(
        [...args, '--backend', 'webgpu', '--dtype', d.join(','), '--batch', '1', '--runs', String(WEBGPU_RUNS), '--save-graphs', graphDir],
        t.name,
      );
      if (report?.graphs) graphs.webgpu.push(...report.graphs.filter((g) => g.path.includes(`${graphDir}/webgpu/`)));
    }
  }
  return graphs;
}

async function browserRows(
  run: Run,
  browser: BrowserRunner,
  t: Target,
  backend: 'browser-wasm' | 'browser-webgpu',
  graphs: SavedGraph[],
  dtypes: string[],
) {
  const fp32Output = new Map<string, number[]>();
  const ceilingDir = await mkdtemp(join(tmpdir(), 'vitkit-bench-ceiling-'));
  const ortBackend = backend === 'browser-wasm' ? 'wasm' : 'webgpu';
  // Batch 1 in the browser: throughput vs batch is the node rows' job, and the default run must fit in 10 minutes.
  const batches = [t.batches[0]];
  const runs = backend === 'browser-webgpu' ? WEBGPU_RUNS : t.runs;
  const kind = ceilingKind(backend);
  try {
    for (const dtype of BACKEND_DTYPES[backend].filter((d) => dtypes.includes(d))) {
      const g = graphs.find((x) => x.dtype === dtype);
      if (!g) {
        run.skip({
          model: t.name,
          backend,
          dtype,
          code: 'NO_GRAPH',
          reason: `no ${dtype} graph was built in Node for this model (see the node rows)`,
        });
        continue;
      }
      run.table.status(`${t.name} ${backend} ${dtype}: Chromium`);
      try {
        // The same ceiling graphs as in Node (this precision, the model's shapes at batch 1 and the squares), timed in the page.
        const candidates = ceilingCandidates(g.heaviestOps ?? [], kind);
        const ceilingGraphs = candidates.map((c, i) => {
          const graph = ceilingGraph(c, dtype);
          const file = join(ceilingDir, `${dtype}-${i}.onnx`);
          writeFileSync(file, graph.bytes);
          const url = browser.serveGraph(`/graphs/ceiling/${backend}/${encodeURIComponent(t.name)}-${dtype}-${i}.onnx`, file);
          return { c, graph, url };
        });
        const url = browser.serveGraph(`/graphs/${backend}/${encodeURIComponent(t.name)}-${dtype}.onnx`, g.path);
        const res = await browser.run(
          {
            graphUrl: url,
            backend: ortBackend,
            image: g.input.slice(1),
            batches,
            runs,
            threads: cpus().length,
            ceilings: ceilingGraphs.map((x) => ({ graphUrl: x.url, input: x.graph.input, runs: ceilingRuns(kind) })),
          },
          kind === 'swiftshader' ? SWIFTSHADER_BROWSER_TIMEOUT_MS : BROWSER_TIMEOUT_MS,
        );
        const timings: CeilingTiming[] = [];
        const failed: string[] = [];
        ceilingGraphs.forEach((x, i) => {
          const times = res.ceilingTimes?.[i] ?? [];
          if (times.length) timings.push({ candidate: x.c, flops: x.graph.flops, times });
          else failed.push(`${opShapeLabel(x.c.shape)}: did not run in Chromium`);
        });
        const ceiling = timings.length ? ceilingFromTimings({ backend, dtype, model: t.name }, timings, failed) : undefined;
        if (ceiling) run.addCeilings([ceiling]);
        res.batches.forEach((b, i) => {
          if (b.output && dtype === 'fp32') fp32Output.set(backend, b.output);
          const ref = fp32Output.get(backend);
          run.row(
            assembleRow({
              model: t.name,
              backend,
              dtype,
              batch: b.batch,
              flopsPerImage: g.gflopPerImage * 1e9,
              times: b.times,
              firstRunMs: b.firstRunMs,
              buildMs: i === 0 ? g.buildMs : 0,
              sessionMs: i === 0 ? res.sessionMs : 0,
              peakRssMb: res.peakRssMb,
              ceiling,
              input: [b.batch, ...g.input.slice(1)],
              cosineVsFp32:
                dtype !== 'fp32' && b.output && ref && ref.length === b.output.length
                  ? cosineSimilarity(Float32Array.from(ref), Float32Array.from(b.output))
                  : undefined,
            }),
          );
        });
        if (backend === 'browser-wasm' && !res.crossOriginIsolated)
          run.notes.push('Chromium page was not cross-origin isolated: wasm ran on one thread.');
      } catch (error) {
        run.skip({
          model: t.name,
          backend,
          dtype,
          code: 'BROWSER_FAILED',
          reason: String((error as Error).message ?? error).split('\n')[0],
        });
      }
    }
  } finally {
    rmSync(ceilingDir, { recursive: true, force: true });
  }
}

async function defaultRun(run: Run, o: MainOptions, backends: Backend[], dtypes: string[]) {
  const sections = o.only ? list(o.only) : [...DEFAULT_SECTIONS];
  for (const x of sections)
    if (!SECTIONS.includes(x as Section)) throw new Error(`--only: unknown section "${x}" (${SECTIONS.join(', ')})`);
  const count = Number(o.variedSizes);
  if (!Number.isInteger(count) || count < 0) throw new Error(`--varied-sizes takes an integer ≥ 0, got "${o.variedSizes}"`);
  const varied =
    sections.includes('varied-sizes') && count > 0 ? await variedSizesTarget(run, o, backends, o.only !== undefined) : undefined;
  const targets = sections.includes('rows') ? await rowTargets(run, o) : [];
  const peak = sections.includes('peak-memory') ? await peakMemoryTarget(run, o, backends) : undefined;
  const imageSets = sections.includes('image-sets');
  const distributed = sections.includes('image-sets-distributed');
  const library = sections.includes('browser-library');
  run.table.plan(targets.length + (varied ? 1 : 0) + (peak ? 1 : 0) + (imageSets ? 1 : 0) + (distributed ? 1 : 0) + (library ? 1 : 0));
  if (targets.length) await rowsRun(run, targets, backends, dtypes);
  if (varied) {
    run.table.status(`${varied.name}: ${count} images of ${count} sizes in one process`);
    await run.cli(
      ['--model', varied.checkpoint, '--name', varied.name, '--backend', 'cpu', '--dtype', 'fp32', '--varied-sizes', String(count)],
      varied.name,
    );
    const v = run.variedSizes.at(-1);
    if (v)
      run.table.log(
        `${pc.bold('varied sizes')} ${v.model}: ${v.images} sizes, RSS ×${v.rssRatio} (image 2 → ${v.images}; target ≤ ${v.targets.rssRatio}), new size ×${v.newSizeRatio} of a repeated one (target ≤ ${v.targets.newSizeRatio}), ${v.durationS} s`,
      );
    run.table.advance();
  }
  if (peak) {
    run.table.status(`${peak.name}: peak memory from a cold start`);
    await run.cli(['--model', peak.checkpoint, '--name', peak.name, '--backend', 'cpu', '--dtype', 'fp32', '--peak-memory'], peak.name);
    const p = run.peakMemory.at(-1);
    if (p)
      run.table.log(
        `${pc.bold('peak memory')} ${p.model}: ${p.weightsMb.toFixed(0)} MiB of weights, peak RSS ${p.runPeakMb} MiB (from ${p.startMb}) = ${p.copies} copies (target ≤ ${p.target.copies})`,
      );
    run.table.advance();
  }
  const int = (name: string, v: string, min: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`${name} takes an integer ≥ ${min}, got "${v}"`);
    return n;
  };
  const imageSetsCommon = () => ({
    images: int('--image-sets-images', o.imageSetsImages, 100),
    batch: o.batch ? int('--batch', list(o.batch)[0], 1) : 16,
    rounds: int('--image-sets-rounds', o.imageSetsRounds, 1),
    cacheDir: o.cacheDir,
    status: (line: string) => run.table.status(line),
    log: (line: string) => run.table.log(`${pc.bold('image sets')} ${line.replace(/^image sets /, '')}`),
  });
  if (imageSets) {
    run.imageSets = await imageSetsSection({ ...imageSetsCommon(), tjsExport: o.imageSetsTjs });
    for (const reason of run.imageSets.skipped) run.notes.push(`image-sets: ${reason}`);
    run.table.advance();
  }
  if (distributed) {
    const d = await distributedSection({
      ...imageSetsCommon(),
      workers: 2,
      shardSize: int('--image-sets-shard-size', o.imageSetsShardSize, 1),
    });
    if (typeof d === 'string') run.notes.push(`image-sets-distributed: not run, ${d}`);
    else run.imageSetsDistributed = d;
    run.table.advance();
  }
  if (library) {
    await browserLibrarySection(run, o);
    run.table.advance();
  }
}

/**
 * vitkit's library path in Chromium beside transformers.js on the `--onnx` exports (materialized perf
 * skeletons): cold start, first run, warm p50/p90, threads, peak renderer memory, fp32 and int8/q8.
 */
async function browserLibrarySection(run: Run, o: MainOptions): Promise<void> {
  const skip = (reason: string, code = 'NOT_ASKED') => run.skip({ model: '*', backend: 'browser-library', dtype: '*', code, reason });
  if (!o.onnx.length) return skip('browser-library compares against exports: pass --onnx <folder> (a materialized perf export) per model');
  if (!haveChromium()) return skip(`no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`, 'NO_CHROMIUM');
  const browser = new BrowserRunner(['/library/vitkit', '/library/transformers.js']);
  await browser.start();
  try {
    run.browserLibrary = await browserLibraryRun(
      browser,
      {
        exports: o.onnx,
        checkpointFor: (folder, name) => syntheticCheckpoint(folder, o.cacheDir, name),
        rounds: Number(o.rounds),
        runs: o.runs ? Number(o.runs) : 10,
        timeoutMs: BROWSER_TIMEOUT_MS,
      },
      {
        status: (t) => run.table.status(t),
        log: (t) => run.table.log(`${pc.cyan('browser-library')} ${t}`),
        skip: (model, what, reason) => run.skip({ model, backend: 'browser-library', dtype: what, code: 'BROWSER_FAILED', reason }),
        note: (t) => run.notes.push(t),
      },
    );
    for (const r of run.browserLibrary.ratios)
      run.table.log(
        `${pc.bold('ratio')} ${r.model} vitkit ÷ transformers.js: cold start ${fmtRatio(r.coldStart)}, warm p50 ${fmtRatio(r.warmP50)} (its best threads), second load ${fmtRatio(r.secondLoad)}, peak memory ${fmtRatio(r.memory)}; int8 ×${r.int8Speedup ?? '–'} of fp32 images/s (cosine ${r.int8Cosine ?? '–'}), int8 p50 ${fmtRatio(r.int8VsQ8P50)} of q8's`,
      );
    run.notes.push(
      "browser-library: each measurement is a fresh headless Chromium (its own profile) on a cross-origin-isolated page served from 127.0.0.1; vitkit loads the export's config.json with synthesized weights (fromPretrained on a Hub-layout URL), transformers.js the export itself. Peak memory is the largest Chromium process's VmHWM (the renderer).",
    );
  } finally {
    await browser.stop();
  }
}

/** The peak-memory section's checkpoint: `--model`, else dinov2-giant's config with synthesized weights. Node cpu, fp32. */
async function peakMemoryTarget(run: Run, o: MainOptions, backends: Backend[]): Promise<{ name: string; checkpoint: string } | undefined> {
  if (!backends.includes('cpu')) {
    run.skip({
      model: '*',
      backend: 'cpu',
      dtype: 'fp32',
      code: 'NOT_ASKED',
      reason: 'the peak-memory run is on node cpu; add cpu to --backends',
    });
    return undefined;
  }
  if (o.model) return { name: o.model, checkpoint: o.model };
  run.table.status(`${PEAK_MEMORY_MODEL}: synthesizing 4.5 GB of weights from configs/${PEAK_MEMORY_MODEL}/config.json (once)`);
  return {
    name: PEAK_MEMORY_MODEL,
    checkpoint: await syntheticCheckpoint(join(CONFIGS_DIR, PEAK_MEMORY_MODEL), o.cacheDir, PEAK_MEMORY_MODEL),
  };
}

/**
 * Which checkpoint the varied-sizes section feeds: the default DETR (when the default models include
 * it), or `--model` when `--only varied-sizes` asks for it. It runs on node cpu, fp32.
 */
async function variedSizesTarget(
  run: Run,
  o: MainOptions,
  backends: Backend[],
  asked: boolean,
): Promise<{ name: string; checkpoint: string } | undefined> {
  if (!backends.includes('cpu')) {
    if (asked)
      run.skip({
        model: '*',
        backend: 'cpu',
        dtype: 'fp32',
        code: 'NOT_ASKED',
        reason: 'the varied-sizes run is on node cpu; add cpu to --backends',
      });
    return undefined;
  }
  if (o.model) return asked ? { name: o.model, checkpoint: o.model } : undefined;
  const wanted = list(o.models);
  if (!asked && wanted.length && !wanted.includes(VARIED_SIZES_MODEL)) return undefined;
  run.table.status(`${VARIED_SIZES_MODEL}: synthesizing weights from configs/${VARIED_SIZES_MODEL}/config.json`);
  return {
    name: VARIED_SIZES_MODEL,
    checkpoint: await syntheticCheckpoint(join(CONFIGS_DIR, VARIED_SIZES_MODEL), o.cacheDir, VARIED_SIZES_MODEL),
  };
}

/** The models the rows time: `--model`, or the embedded defaults (`--models` picks some). */
async function rowTargets(run: Run, o: MainOptions): Promise<Target[]> {
  let targets: Target[];
  const swift = webgpuIsSwiftShader();
  const batches = o.batch ? list(o.batch).map(Number) : undefined;
  const runs = o.runs ? Number(o.runs) : undefined;
  const size = o.size ? (o.size.split('x').map(Number) as [number, number]) : undefined;
  if (o.model) {
    targets = [{ name: o.model, checkpoint: o.model, batches: batches ?? [1, 8], runs: runs ?? 10, size, webgpu: true }];
    if (swift)
      run.notes.push('webgpu is SwiftShader here (no GPU): its rows time the real model at full size, which takes minutes per run.');
  } else {
    const wanted = list(o.models);
    const models = wanted.length ? DEFAULT_MODELS.filter((m) => wanted.includes(m.name)) : DEFAULT_MODELS;
    targets = [];
    for (const m of models as DefaultModel[]) {
      run.table.status(`${m.name}: synthesizing weights from configs/${m.name}/config.json`);
      const checkpoint = await syntheticCheckpoint(join(CONFIGS_DIR, m.name), o.cacheDir, m.name);
      // On a GPU every model runs on webgpu (DETR included); on SwiftShader one small-input row shows the path and its overhead.
      const webgpu = swift ? m.swiftShaderWebgpu !== undefined : true;
      targets.push({
        name: m.name,
        checkpoint,
        batches: batches ?? m.batches,
        runs: runs ?? m.runs,
        size: size ?? m.size,
        webgpu,
        webgpuSize: swift ? m.swiftShaderWebgpu : undefined,
        dtypes: m.dtypes,
        nodeOnly: m.nodeOnly,
      });
    }
    if (swift) {
      run.notes.push(
        'webgpu (node and Chromium) is SwiftShader on this machine, about 0.15 GFLOP/s: the default run times dino-vits16 at 32×32 on it (the path, its dispatch overhead and shader compilation), not the real-size models.',
      );
    }
    run.notes.push(
      'Default models: real configs (apps/bench/configs) with weights synthesized deterministically (seeded normals: matrices N(0, 0.02), norms ≈ 1, small biases). Speed does not depend on the values.',
    );
  }
  return targets;
}

async function rowsRun(run: Run, targets: Target[], backends: Backend[], dtypes: string[]) {
  const graphRoot = await mkdtemp(join(tmpdir(), 'vitkit-bench-graphs-'));
  const browserBackends = backends.filter((b): b is 'browser-wasm' | 'browser-webgpu' => b.startsWith('browser-'));
  let browser: BrowserRunner | undefined;
  if (browserBackends.length && !haveChromium()) {
    for (const b of browserBackends)
      run.skip({
        model: '*',
        backend: b,
        dtype: '*',
        code: 'NO_CHROMIUM',
        reason: `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`,
      });
  } else if (browserBackends.length) {
    browser = new BrowserRunner();
    await browser.start();
  }
  try {
    for (const t of targets) {
      const asked = t.dtypes ? dtypes.filter((d) => t.dtypes?.includes(d)) : dtypes;
      const graphs = await nodeRows(run, t, backends, asked, join(graphRoot, t.name.replace(/[^\w.-]+/g, '_')));
      if (browser && t.nodeOnly)
        for (const b of browserBackends)
          run.skip({
            model: t.name,
            backend: b,
            dtype: '*',
            code: 'NOT_ASKED',
            reason: 'left out of the default browser rows (one run takes minutes there)',
          });
      else if (browser)
        for (const b of browserBackends) {
          if (b === 'browser-webgpu' && !t.webgpu) {
            run.skip({ model: t.name, backend: b, dtype: '*', code: 'SKIPPED_ON_SWIFTSHADER', reason: SWIFTSHADER_SKIP });
            continue;
          }
          // Chromium's webgpu gets the graphs built for node webgpu (same input size and precisions), wasm the cpu
          // ones. Never the cpu graphs on SwiftShader: a real-size model there runs for minutes.
          if (b === 'browser-webgpu' && !graphs.webgpu.length && t.webgpuSize) {
            run.skip({
              model: t.name,
              backend: b,
              dtype: '*',
              code: 'NO_GRAPH',
              reason: 'no graph was built for node webgpu at the SwiftShader size',
            });
            continue;
          }
          const g = b === 'browser-webgpu' && graphs.webgpu.length ? graphs.webgpu : graphs.cpu;
          await browserRows(run, browser, t, b, g, asked);
        }
      run.table.advance();
    }
    if (backends.includes('cuda')) {
      // One probe: without the CUDA provider every model gets the same answer.
      const t = targets[0];
      const before = run.skipped.length;
      await run.cli(
        ['--model', t.checkpoint, '--name', t.name, '--backend', 'cuda', '--dtype', 'fp32', '--batch', '1', '--runs', '10'],
        t.name,
      );
      const probe = run.skipped.slice(before).find((s) => s.backend === 'cuda');
      if (probe) for (const other of targets.slice(1)) run.skipped.push({ ...probe, model: other.name });
    }
  } finally {
    await browser?.stop();
    rmSync(graphRoot, { recursive: true, force: true });
  }
}

/** One runner's rounds folded into a row: medians of per-round cold starts, percentiles over every warm run. */
function anchorRow(name: string, runner: BaselineRow['runner'], folder: string, batch: number, rs: BaselineResult[]): BaselineRow {
  const times = rs.flatMap((r) => r.times);
  const p50 = median(times);
  return {
    model: name,
    runner,
    folder,
    batch,
    input: rs[0].input,
    rounds: rs.length,
    importMs: r2(median(rs.map((r) => r.importMs))),
    coldStartMs: r2(median(rs.map((r) => r.coldStartMs))),
    firstRunMs: r2(median(rs.map((r) => r.firstRunMs))),
    p50Ms: r2(p50),
    p90Ms: r2(p90(times)),
    imagesPerSecond: r2((batch * 1000) / p50),
    peakRssMb: Math.round(Math.max(...rs.map((r) => r.peakRssMb))),
    runs: times.length,
  };
}

/**
 * The anchors: transformers.js and raw onnxruntime on each export, and vitkit on the same config and
 * input shape measured the same way (a fresh process per measurement, import timed apart) without and
 * with its optimized-model cache. Runners take turns round by round, so a change in the machine's load
 * falls on all of them rather than on whichever ran last.
 */
async function baselineRun(run: Run, o: MainOptions, runners: BaselineRunner[]) {
  const batches = o.batch ? list(o.batch).map(Number) : [1];
  const runs = o.runs ? Number(o.runs) : 10;
  const rounds = Number(o.rounds);
  run.table.plan(o.onnx.length * batches.length * rounds);
  for (const folder of o.onnx) {
    const name = basename(resolve(folder));
    const [h, w] = o.size ? (o.size.split('x').map(Number) as [number, number]) : inputSize(folder);
    // The export's weights are not in safetensors: vitkit runs on synthesized ones, unless the folder has a checkpoint.
    const checkpoint = hasWeights(folder) ? folder : await syntheticCheckpoint(folder, o.cacheDir, name);
    if (!hasWeights(folder))
      run.notes.push(
        `${name}: vitkit ran on weights synthesized from ${folder}/config.json; the export ran on its own (stand-in) weights. Speed does not depend on the values.`,
      );
    for (const batch of batches) {
      const samples = new Map<BaselineRow['runner'], BaselineResult[]>();
      const record = async (label: BaselineRow['runner'], req: BaselineRequest) => {
        run.table.status(`${name} b${batch}: ${label}`);
        try {
          const r = await runBaseline(req);
          samples.set(label, [...(samples.get(label) ?? []), r]);
          return r;
        } catch (error) {
          run.skip({
            model: name,
            backend: label,
            dtype: 'fp32',
            code: 'BASELINE_FAILED',
            reason: String((error as Error).message).split('\n')[0],
          });
          return undefined;
        }
      };
      let input = [batch, 3, h, w];
      const cache = await mkdtemp(join(tmpdir(), 'vitkit-bench-optimized-'));
      try {
        const vitkitReq = (optimizedModelCache?: string): BaselineRequest => ({
          runner: 'vitkit',
          folder: checkpoint,
          input,
          runs,
          optimizedModelCache,
        });
        for (let round = 0; round < rounds; round++) {
          for (const runner of runners) {
            const r = await record(runner, { runner, folder, input, runs });
            if (r) input = r.input; // fixture exports have static sizes: use theirs everywhere
          }
          await record('vitkit', vitkitReq());
          // The first cached run fills the cache (a miss, not recorded); the rest are hits.
          if (round === 0) await runBaseline(vitkitReq(cache)).catch(() => undefined);
          await record('vitkit (cached)', vitkitReq(cache));
          run.table.advance();
        }
      } finally {
        rmSync(cache, { recursive: true, force: true });
      }
      const rows = [...samples].map(([label, rs]) => anchorRow(name, label, label.startsWith('vitkit') ? checkpoint : folder, batch, rs));
      const vitkit = rows.find((r) => r.runner === 'vitkit');
      const cached = rows.find((r) => r.runner === 'vitkit (cached)');
      for (const b of rows) {
        if (b.runner.startsWith('vitkit')) continue;
        const ratio = (x: number) => Math.round(x * 1000) / 1000;
        if (vitkit) {
          b.vitkitOverBaselineP50 = ratio(vitkit.p50Ms / b.p50Ms);
          b.vitkitOverBaselineColdStart = ratio(vitkit.coldStartMs / b.coldStartMs);
        }
        if (cached) b.cachedVitkitOverBaselineColdStart = ratio(cached.coldStartMs / b.coldStartMs);
        run.table.log(
          `${pc.bold('ratio')} ${name} b${batch} vs ${b.runner}: p50 ${fmtRatio(b.vitkitOverBaselineP50)}, cold start ${fmtRatio(b.vitkitOverBaselineColdStart)} (cached ${fmtRatio(b.cachedVitkitOverBaselineColdStart)})`,
        );
      }
      for (const r of rows)
        run.table.log(
          `${pc.cyan(r.runner.padEnd(15))} ${name} b${batch} ${r.input.join('×')}: import ${r.importMs.toFixed(0)} ms, cold ${r.coldStartMs.toFixed(0)} ms, first ${r.firstRunMs.toFixed(1)} ms, p50 ${r.p50Ms.toFixed(1)} ms, p90 ${r.p90Ms.toFixed(1)} ms (${r.rounds} rounds)`,
        );
      run.baselines.push(...rows);
    }
  }
}

const fmtRatio = (v: number | undefined) => (v === undefined ? '–' : pc.bold(`${v.toFixed(2)}×`));

async function main(argv: string[]): Promise<void> {
  const program = new Command('vitkit-bench')
    .description('The vitkit benchmark: families × backends × precisions × batch sizes, and the transformers.js / onnxruntime anchors')
    .option('--model <dir-or-id>', 'benchmark this checkpoint instead of the embedded default models')
    .option('--models <list>', `subset of the default models: ${DEFAULT_MODELS.map((m) => m.name).join(', ')}`)
    .option('--backends <list>', `backends: ${ALL_BACKENDS.join(', ')}`, ALL_BACKENDS.join(','))
    .option('--dtypes <list>', `precisions: ${BENCH_DTYPES.join(', ')}`, BENCH_DTYPES.join(','))
    .option('--batch <list>', 'batch sizes (default: 1,8; DETR 1,2; baselines 1)')
    .option('--runs <n>', 'warm runs per row (default 10; webgpu rows always 10)')
    .option('--size <HxW>', 'input size (default: the preprocessor crop; DETR 800x1066)')
    .option('--baseline <list>', `anchor runner(s) on --onnx exports: ${BASELINE_RUNNERS.join(', ')}`)
    .option(
      '--onnx <folder>',
      'Optimum-style export folder (onnx/model.onnx + config.json), for --baseline and --only browser-library; repeatable',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option('--rounds <n>', 'anchors and browser-library: interleaved rounds per model (medians over rounds)', '3')
    .option('--only <sections>', `run only these sections: ${SECTIONS.join(', ')} (default: ${DEFAULT_SECTIONS.join(', ')})`)
    .option(
      '--varied-sizes <n>',
      `varied-sizes section: ${VARIED_SIZES_MODEL} (or --model with --only varied-sizes) over n images of n sizes in one process; 0 skips it`,
      '30',
    )
    .option('--image-sets-images <n>', 'image-sets section: JPEGs of mixed sizes in the folder (plus a 100-image one for peak RSS)', '500')
    .option('--image-sets-rounds <n>', 'image-sets section: interleaved rounds (medians over rounds)', '2')
    .option('--image-sets-shard-size <n>', 'image-sets-distributed section: images per shard', '50')
    .option(
      '--image-sets-tjs <folder>',
      'image-sets section: an Optimum-style export of dinov2-small (onnx/model.onnx + model.onnx_data) for the transformers.js rows',
    )
    .option('--out <dir>', 'where the JSON, Markdown and HTML reports go', 'bench-results')
    .option('--cache-dir <dir>', 'where synthesized checkpoints are kept', defaultCacheDir());
  program.parse(argv);
  const o = program.opts<MainOptions>();
  const started = performance.now();
  const startedAt = new Date();
  const run = new Run();
  run.table.header(run.machine);
  const runners = list(o.baseline) as BaselineRunner[];
  for (const r of runners)
    if (!BASELINE_RUNNERS.includes(r)) throw new Error(`--baseline: unknown runner "${r}" (${BASELINE_RUNNERS.join(', ')})`);
  if (runners.length && !o.onnx.length) throw new Error('--baseline needs --onnx <folder> (an Optimum-style export).');
  const backends = list(o.backends) as Backend[];
  for (const b of backends)
    if (!ALL_BACKENDS.includes(b)) throw new Error(`--backends: unknown backend "${b}" (${ALL_BACKENDS.join(', ')})`);
  const dtypes = list(o.dtypes);
  if (runners.length) await baselineRun(run, o, runners);
  else await defaultRun(run, o, backends, dtypes);
  run.table.stop();
  const file: BenchFile = {
    machine: run.machine,
    command: ['pnpm bench', ...argv.slice(2)].join(' '),
    startedAt: startedAt.toISOString(),
    durationS: Math.round((performance.now() - started) / 100) / 10,
    results: run.results,
    skipped: run.skipped,
    ceilings: run.ceilings,
    variedSizes: run.variedSizes,
    peakMemory: run.peakMemory,
    ...(run.imageSets ? { imageSets: run.imageSets } : {}),
    ...(run.imageSetsDistributed ? { imageSetsDistributed: run.imageSetsDistributed } : {}),
    ...(run.browserLibrary ? { browserLibrary: run.browserLibrary } : {}),
    baselines: run.baselines,
    notes: run.notes,
  };
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const paths = await writeReports(file, o.out, stamp);
  process.stdout.write(`\n${pc.green('wrote')} ${paths.json}\n      ${paths.md}\n      ${paths.html}\n(${file.durationS} s)\n`);
}

main(process.argv).catch((error) => {
  process.stderr.write(`vitkit-bench: ${(error as Error)?.stack ?? error}\n`);
  process.exit(1);
});
