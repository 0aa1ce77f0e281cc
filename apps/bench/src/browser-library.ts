// The browser-library section: vitkit's library path in Chromium (fromPretrained(url) → graph built
// in the page → session → runs) beside transformers.js on the same architecture, each in a fresh
// browser, rounds interleaved. vitkit loads the export's config.json with synthesized weights
// (safetensors) from a local Hub-layout server; transformers.js loads the export folder itself.
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { cosineSimilarity, percentile } from '@vitkit/cli/bench';
import type { BrowserRunner } from './browser.js';
import type { LibraryPageRequest, LibraryPageResult } from './library-page.js';
import { ensureQuantizedExport } from './quantize-export.js';

export type Library = 'vitkit' | 'transformers.js';

/** One library × precision × thread setting × load on one model, folded over the rounds. */
export interface BrowserLibraryRow {
  model: string;
  library: Library;
  /** vitkit: fp32 | int8 (built at load); transformers.js: fp32 | q8 (onnx/model_quantized.onnx). */
  dtype: string;
  /** 'default': the library chose (vitkit: every core of an isolated page; transformers.js: onnxruntime-web's default). */
  threadsAsked: 'default' | number;
  /** onnxruntime-web's env.wasm.numThreads after the session was made. */
  threads?: number;
  /** 'second': the page loaded again in the same browser profile (what the first load cached is there). */
  load: 'first' | 'second';
  rounds: number;
  /** Median over rounds: load → ready (vitkit: fromPretrained + warmup; transformers.js: from_pretrained). */
  coldStartMs: number;
  /** vitkit: fromPretrained alone (config and safetensors fetched and parsed), median over rounds. */
  loadMs?: number;
  firstRunMs: number;
  /** Over every warm run of every round. */
  p50Ms: number;
  p90Ms: number;
  imagesPerSecond: number;
  /** Median over rounds of the browser's largest process's VmHWM (the renderer). */
  peakRssMb: number;
  runs: number;
  /** The main output against the same library's fp32 (round 1, same input). */
  cosineVsFp32?: number;
  /** vitkit, second load: whether the session came from a cache (no graph built). */
  fromCache?: boolean;
}

/** The targets (Chromium wasm, vitkit's defaults), as ratios vitkit / transformers.js unless named otherwise. */
export const BROWSER_LIBRARY_TARGETS = {
  /** vitkit fp32 cold start ÷ transformers.js fp32 cold start (its default threads): at most. */
  coldStart: 0.6,
  /** vitkit fp32 warm p50 ÷ transformers.js fp32 warm p50 at its best thread setting: at most. */
  warmP50: 0.6,
  /** vitkit fp32 second page load cold start ÷ transformers.js fp32 cold start: at most. */
  secondLoad: 0.4,
  /** vitkit fp32 renderer peak ÷ transformers.js fp32 (default threads): at most. */
  memory: 1.0,
  /** vitkit int8 images/s ÷ vitkit fp32 images/s: at least. */
  int8Speedup: 1.5,
  /** vitkit int8 main output's cosine to vitkit fp32's: at least. */
  int8Cosine: 0.998,
  /** vitkit int8 warm p50 ÷ transformers.js q8 warm p50 at its best thread setting: at most. */
  int8VsQ8P50: 0.8,
} as const;

export type BrowserLibraryRatios = { model: string } & { [K in keyof typeof BROWSER_LIBRARY_TARGETS]?: number };

export interface BrowserLibraryResult {
  rows: BrowserLibraryRow[];
  ratios: BrowserLibraryRatios[];
  /** How each transformers.js q8 file came to be. */
  q8: { model: string; path: string; made: boolean; matmuls?: number }[];
}

/** Whether a ratio meets its target (cosine and int8 speed-up are "at least", the rest "at most"). */
export function meetsTarget(key: keyof typeof BROWSER_LIBRARY_TARGETS, value: number): boolean {
  const target = BROWSER_LIBRARY_TARGETS[key];
  return key === 'int8Speedup' || key === 'int8Cosine' ? value >= target : value <= target;
}

interface Variant {
  library: Library;
  dtype: string;
  threads?: number;
  loads: 1 | 2;
}

/** What each round measures, in this order (each a fresh browser): the two libraries alternate. */
function variants(cores: number): Variant[] {
  const v: Variant[] = [
    { library: 'transformers.js', dtype: 'fp32', loads: 1 },
    { library: 'vitkit', dtype: 'fp32', loads: 1 },
    { library: 'transformers.js', dtype: 'fp32', threads: cores, loads: 1 },
    { library: 'vitkit', dtype: 'int8', loads: 1 },
    { library: 'transformers.js', dtype: 'q8', loads: 1 },
    { library: 'transformers.js', dtype: 'q8', threads: cores, loads: 1 },
    { library: 'vitkit', dtype: 'fp32', loads: 2 },
  ];
  // On one core "every core" is the default: nothing to add.
  return cores > 1 ? v : v.filter((x) => x.threads === undefined);
}

const key = (v: Pick<Variant, 'library' | 'dtype' | 'threads'>, load: 'first' | 'second') =>
  `${v.library}|${v.dtype}|${v.threads ?? 'default'}|${load}`;

export interface SectionHooks {
  status(text: string): void;
  log(text: string): void;
  skip(model: string, what: string, reason: string): void;
  note(text: string): void;
}

export interface BrowserLibraryOptions {
  /** Optimum-style export folders (onnx/model.onnx, its external data materialized, config.json). */
  exports: string[];
  /** The vitkit checkpoint (synthesized weights) for an export's config.json. */
  checkpointFor(folder: string, name: string): Promise<string>;
  rounds: number;
  runs: number;
  timeoutMs: number;
}

/** The export's input: [1, 3, H, W] from its preprocessor crop (every perf export is 224²). */
function exportInput(folder: string): number[] {
  const path = join(folder, 'preprocessor_config.json');
  const p = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>) : {};
  const crop = p.crop_size as { height?: number; width?: number } | number | undefined;
  const size = p.size as { height?: number; width?: number; shortest_edge?: number } | number | undefined;
  const pick = (v: typeof crop | typeof size) => (typeof v === 'number' ? [v, v] : v?.height && v?.width ? [v.height, v.width] : undefined);
  const [h, w] = (p.do_center_crop !== false && pick(crop)) || pick(size) || [224, 224];
  return [1, 3, h, w];
}

/** A tensor initializer's data lives in onnx/model.onnx_data: transformers.js must be told. */
function hasExternalData(folder: string): boolean {
  return existsSync(join(folder, 'onnx', 'model.onnx_data'));
}

export async function browserLibraryRun(
  browser: BrowserRunner,
  o: BrowserLibraryOptions,
  hooks: SectionHooks,
): Promise<BrowserLibraryResult> {
  const result: BrowserLibraryResult = { rows: [], ratios: [], q8: [] };
  const cores = cpus().length;
  for (const folderArg of o.exports) {
    const folder = resolve(folderArg);
    const name = basename(folder);
    if (existsSync(join(folder, 'onnx', 'model.onnx_data.json')) && !hasExternalData(folder)) {
      hooks.skip(
        name,
        '*',
        `${folder} is a skeleton without its data: copy it somewhere writable and run materialize.mjs on it (see the perf exports' README)`,
      );
      continue;
    }
    hooks.status(`${name}: transformers.js q8 file`);
    const q8 = ensureQuantizedExport(folder);
    result.q8.push({ model: name, path: q8.path, made: q8.made, ...(q8.made ? { matmuls: q8.matmuls } : {}) });
    if (q8.made)
      hooks.note(
        `${name}: onnx/model_quantized.onnx was made by apps/bench/src/quantize-export.ts (onnxruntime's quantize_dynamic recipe for MatMul: int8 symmetric per-tensor weights, DynamicQuantizeLinear activations, MatMulInteger; ${q8.matmuls} MatMuls; Conv/Gemm left float).`,
      );
    hooks.status(`${name}: vitkit checkpoint from ${folder}/config.json`);
    const checkpoint = await o.checkpointFor(folder, name);
    const repo = `bench/${name}`;
    const vitkitUrl = browser.serveDir(`/${repo}/resolve/main/`, checkpoint).replace(/\/$/, '');
    browser.serveDir(`/models/${name}/`, folder);
    const input = exportInput(folder);
    const samples = new Map<string, { v: Variant; load: 'first' | 'second'; res: (LibraryPageResult & { peakRssMb: number })[] }>();
    const outputs = new Map<string, number[]>();
    for (let round = 0; round < o.rounds; round++) {
      for (const v of variants(cores)) {
        const label = `${name} ${v.library} ${v.dtype} threads ${v.threads ?? 'default'}${v.loads === 2 ? ', second load' : ''}`;
        hooks.status(`${label} (round ${round + 1}/${o.rounds})`);
        const req: LibraryPageRequest = {
          model: v.library === 'vitkit' ? vitkitUrl : name,
          dtype: v.dtype,
          input,
          runs: o.runs,
          threads: v.threads,
          externalData: v.library === 'transformers.js' && v.dtype === 'fp32' && hasExternalData(folder),
          keepOutput: round === 0 && v.loads === 1 && v.threads === undefined,
        };
        try {
          const [loads, peakRssMb] = await browser.openLoads<LibraryPageRequest, LibraryPageResult>(
            v.library === 'vitkit' ? '/library/vitkit' : '/library/transformers.js',
            req,
            v.loads,
            o.timeoutMs,
            label,
          );
          const load = v.loads === 2 ? 'second' : 'first';
          const res = loads[loads.length - 1];
          if (res.output) outputs.set(`${v.library}|${v.dtype}`, res.output);
          res.output = undefined;
          const k = key(v, load);
          const entry = samples.get(k) ?? { v, load, res: [] };
          entry.res.push({ ...res, peakRssMb });
          samples.set(k, entry);
          hooks.log(
            `${label}: cold ${res.coldStartMs.toFixed(0)} ms, first ${res.firstRunMs.toFixed(0)} ms, p50 ${percentile(res.times, 50).toFixed(1)} ms, ${res.threads ?? '?'} threads, peak ${peakRssMb} MB`,
          );
        } catch (error) {
          hooks.skip(name, label, String((error as Error).message ?? error).split('\n')[0]);
        }
      }
    }
    const fp32 = (lib: Library) => outputs.get(`${lib}|fp32`);
    const rows: BrowserLibraryRow[] = [];
    for (const { v, load, res } of samples.values()) {
      const times = res.flatMap((r) => r.times);
      const p50 = percentile(times, 50);
      const median = (xs: number[]) => percentile(xs, 50);
      const out = outputs.get(`${v.library}|${v.dtype}`);
      const ref = fp32(v.library);
      const r1 = (x: number) => Math.round(x * 10) / 10;
      rows.push({
        model: name,
        library: v.library,
        dtype: v.dtype,
        threadsAsked: v.threads ?? 'default',
        threads: res[0].threads,
        load,
        rounds: res.length,
        coldStartMs: r1(median(res.map((r) => r.coldStartMs))),
        ...(res[0].loadMs !== undefined ? { loadMs: r1(median(res.map((r) => r.loadMs ?? Number.NaN))) } : {}),
        firstRunMs: r1(median(res.map((r) => r.firstRunMs))),
        p50Ms: r1(p50),
        p90Ms: r1(percentile(times, 90)),
        imagesPerSecond: Math.round((input[0] * 100_000) / p50) / 100,
        peakRssMb: Math.round(median(res.map((r) => r.peakRssMb))),
        runs: times.length,
        ...(v.dtype !== 'fp32' && out && ref && out.length === ref.length
          ? { cosineVsFp32: Math.round(cosineSimilarity(Float32Array.from(ref), Float32Array.from(out)) * 1e5) / 1e5 }
          : {}),
        ...(load === 'second' ? { fromCache: res.every((r) => r.fromCache) } : {}),
      });
    }
    result.rows.push(...rows);
    result.ratios.push(libraryRatios(name, rows));
  }
  return result;
}

/** The ratios for one model, from its rows (absent where a row is missing). */
export function libraryRatios(model: string, rows: readonly BrowserLibraryRow[]): BrowserLibraryRatios {
  const find = (library: Library, dtype: string, load: 'first' | 'second' = 'first', threads: 'default' | number = 'default') =>
    rows.find((r) => r.library === library && r.dtype === dtype && r.load === load && r.threadsAsked === threads);
  const best = (library: Library, dtype: string) =>
    rows
      .filter((r) => r.library === library && r.dtype === dtype && r.load === 'first')
      .reduce<BrowserLibraryRow | undefined>((a, r) => (!a || r.p50Ms < a.p50Ms ? r : a), undefined);
  const ratio = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined || !(b > 0) ? undefined : Math.round((a / b) * 1000) / 1000;
  const vk = find('vitkit', 'fp32');
  const vk8 = find('vitkit', 'int8');
  const tjs = find('transformers.js', 'fp32');
  const second = find('vitkit', 'fp32', 'second');
  return {
    model,
    coldStart: ratio(vk?.coldStartMs, tjs?.coldStartMs),
    warmP50: ratio(vk?.p50Ms, best('transformers.js', 'fp32')?.p50Ms),
    secondLoad: ratio(second?.coldStartMs, tjs?.coldStartMs),
    memory: ratio(vk?.peakRssMb, tjs?.peakRssMb),
    int8Speedup: ratio(vk8?.imagesPerSecond, vk?.imagesPerSecond),
    int8Cosine: vk8?.cosineVsFp32,
    int8VsQ8P50: ratio(vk8?.p50Ms, best('transformers.js', 'q8')?.p50Ms),
  };
}
