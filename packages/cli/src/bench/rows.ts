// A bench row, the one way it is assembled from timings (node and browser alike), and which
// precisions each backend is timed in.
import type { Ceiling } from './ceiling.js';
import type { OpShape } from './flops.js';
import type { MachineInfo } from './machine.js';
import type { PeakMemoryResult } from './peak-memory.js';
import { percentile, round } from './statistics.js';
import type { VariedSizesResult } from './varied-sizes.js';

export const BENCH_DTYPES = ['fp32', 'fp16', 'int8', 'int4'] as const;
export type BenchDtype = (typeof BENCH_DTYPES)[number];
export const NODE_BACKENDS = ['cpu', 'webgpu', 'cuda'] as const;
export type NodeBackend = (typeof NODE_BACKENDS)[number];
export const BROWSER_BACKENDS = ['browser-wasm', 'browser-webgpu'] as const;
export type BrowserBackend = (typeof BROWSER_BACKENDS)[number];

/**
 * The precisions timed on each backend: vitkit builds fp16 for GPU backends and int8/int4 (quantized
 * Linear weights, com.microsoft kernels) for cpu and wasm; Chromium's wasm gets the cpu graphs, fp32
 * and int8 (int4 runs there too, slower than fp32, so it is not timed by default).
 */
export const BACKEND_DTYPES: Readonly<Record<NodeBackend | BrowserBackend, readonly BenchDtype[]>> = {
  cpu: ['fp32', 'int8', 'int4'],
  webgpu: ['fp32', 'fp16'],
  cuda: ['fp32', 'fp16'],
  'browser-wasm': ['fp32', 'int8'],
  'browser-webgpu': ['fp32', 'fp16'],
};

/** Why a precision is not timed on a backend, or undefined when it is. */
export function dtypeNotForBackend(backend: NodeBackend | BrowserBackend, dtype: string): string | undefined {
  const ok = BACKEND_DTYPES[backend];
  if (ok.includes(dtype as BenchDtype)) return undefined;
  const where = (Object.keys(BACKEND_DTYPES) as (keyof typeof BACKEND_DTYPES)[]).filter((b) =>
    BACKEND_DTYPES[b].includes(dtype as BenchDtype),
  );
  return `${dtype} is built for ${where.join(', ') || 'no backend'}, not ${backend}`;
}

/** One row of the contract. Extra fields beyond the contract's are optional and additive. */
export interface BenchRow {
  model: string;
  backend: string;
  dtype: string;
  batch: number;
  buildMs: number;
  sessionMs: number;
  firstRunMs: number;
  p50Ms: number;
  p90Ms: number;
  imagesPerSecond: number;
  gflops: number;
  /** gflops / ceilingGflops: the row's share of its own backend and precision's ceiling (≤ 1 unless something is wrong). */
  ceilingShare: number;
  peakRssMb: number;
  architecture?: string;
  input?: number[];
  runs?: number;
  gflopPerImage?: number;
  /** Cosine similarity of the main output to fp32's on the same input (non-fp32 rows). */
  cosineVsFp32?: number;
  loadMs?: number;
  /** Which ceiling `ceilingShare` is of: `${backend} ${dtype}` (see `Ceiling`). */
  ceilingName?: string;
  /** That ceiling, GFLOP/s. */
  ceilingGflops?: number;
  /** The shape that set the ceiling. */
  ceilingBest?: string;
}

/** A combination that could not run, and why (backend missing, dtype not built yet, family pending). */
export interface BenchSkip {
  model: string;
  backend: string;
  dtype: string;
  code: string;
  reason: string;
}

export interface SavedGraph {
  model: string;
  dtype: string;
  path: string;
  input: number[];
  gflopPerImage: number;
  buildMs: number;
  outputName: string;
  /** The model's heaviest weight ops at the first batch (the one the browser runs), for the ceiling timed there. */
  heaviestOps?: OpShape[];
}

export interface BenchReport {
  machine: MachineInfo;
  results: BenchRow[];
  skipped: BenchSkip[];
  /** Every ceiling the rows are shares of, with the shapes timed. */
  ceilings?: Ceiling[];
  graphs?: SavedGraph[];
  /** `--varied-sizes`: one model over many input sizes in one process. */
  variedSizes?: VariedSizesResult[];
  /** `--peak-memory`: one model's resident memory from a cold start. */
  peakMemory?: PeakMemoryResult[];
}

/** What a row is made of: the warm runs' times and what was measured around them. */
export interface RowTimings {
  model: string;
  backend: string;
  dtype: string;
  batch: number;
  flopsPerImage: number;
  /** Warm runs, ms. */
  times: readonly number[];
  firstRunMs: number;
  /** Graph build and session creation: on the first row of a session only (0 on the rest). */
  buildMs: number;
  sessionMs: number;
  peakRssMb: number;
  /** The row's own backend and precision's ceiling. */
  ceiling: Ceiling | undefined;
  input: number[];
  architecture?: string;
  loadMs?: number;
  cosineVsFp32?: number;
}

export function assembleRow(t: RowTimings): BenchRow {
  const p50 = percentile(t.times, 50);
  const gflops = (t.flopsPerImage * t.batch) / (p50 / 1000) / 1e9;
  const ceiling = t.ceiling?.gflops ?? Number.NaN;
  return {
    model: t.model,
    backend: t.backend,
    dtype: t.dtype,
    batch: t.batch,
    buildMs: round(t.buildMs),
    sessionMs: round(t.sessionMs),
    firstRunMs: round(t.firstRunMs),
    p50Ms: round(p50),
    p90Ms: round(percentile(t.times, 90)),
    imagesPerSecond: round((t.batch * 1000) / p50),
    gflops: round(gflops),
    ceilingShare: round(gflops / ceiling, 3),
    ...(t.ceiling ? { ceilingName: t.ceiling.name, ceilingGflops: round(ceiling), ceilingBest: t.ceiling.best } : {}),
    peakRssMb: round(t.peakRssMb, 0),
    ...(t.architecture ? { architecture: t.architecture } : {}),
    input: t.input,
    runs: t.times.length,
    gflopPerImage: round(t.flopsPerImage / 1e9, 3),
    ...(t.loadMs === undefined ? {} : { loadMs: round(t.loadMs) }),
    ...(t.cosineVsFp32 === undefined ? {} : { cosineVsFp32: round(t.cosineVsFp32, 6) }),
  };
}

/** machine.ceilingGflops: the best of each ceiling name over the run. */
export function bestCeilings(ceilings: readonly Ceiling[], into: Record<string, number> = {}): Record<string, number> {
  for (const c of ceilings) if (Number.isFinite(c.gflops)) into[c.name] = round(Math.max(into[c.name] ?? 0, c.gflops));
  return into;
}
