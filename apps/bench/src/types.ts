// The JSON contract `vitkit bench --json` writes (packages/cli/src/commands/bench.ts), as apps/bench
// reads it, plus what the app adds: browser backends, baselines and the run's settings.
import type {
  BenchReport,
  BenchRow,
  BenchSkip,
  Ceiling,
  MachineInfo as ContractMachineInfo,
  PeakMemoryResult,
  SavedGraph,
  VariedSizesResult,
} from '@vitkit/cli/bench';

export type { BenchRow, BenchSkip, Ceiling, PeakMemoryResult, SavedGraph, VariedSizesResult };

export interface MachineInfo extends ContractMachineInfo {
  chromium?: string;
  onnxruntimeWeb?: string;
  transformersJs?: string;
  /** Load average when the run started: other processes share this machine. */
  loadAverage?: number[];
}

export type CliReport = BenchReport;

import type { BrowserLibraryResult } from './browser-library.js';

export type { BrowserLibraryResult, BrowserLibraryRow } from './browser-library.js';

/** One anchor measurement: transformers.js or raw onnxruntime on an Optimum-style export, beside vitkit's row. */
export interface BaselineRow {
  model: string;
  /** The anchors, and vitkit measured the same way: without and with its optimized-model cache (a hit). */
  runner: 'transformers.js' | 'onnxruntime' | 'vitkit' | 'vitkit (cached)';
  folder: string;
  batch: number;
  input: number[];
  /** Medians over this many interleaved rounds (each runner once per round, a fresh process each). */
  rounds: number;
  /** Importing the library in a fresh process. */
  importMs: number;
  /**
   * Load → ready, import excluded (transformers.js: from_pretrained; onnxruntime: InferenceSession.create;
   * vitkit: fromPretrained + warmup, i.e. read, build, optimize).
   */
  coldStartMs: number;
  firstRunMs: number;
  p50Ms: number;
  p90Ms: number;
  imagesPerSecond: number;
  peakRssMb: number;
  runs: number;
  /** vitkit's p50 / the baseline's p50 (below 1: vitkit is faster). */
  vitkitOverBaselineP50?: number;
  /** vitkit's cold start / the baseline's. */
  vitkitOverBaselineColdStart?: number;
  /** vitkit's cold start with a cache hit / the baseline's. */
  cachedVitkitOverBaselineColdStart?: number;
}

export interface BenchFile {
  machine: MachineInfo;
  command: string;
  startedAt: string;
  durationS: number;
  results: BenchRow[];
  skipped: BenchSkip[];
  /** The ceilings the rows are shares of (one per model, backend and precision), with the shapes timed. */
  ceilings?: Ceiling[];
  /** The varied-sizes section: one model over many input sizes in one process. */
  variedSizes?: VariedSizesResult[];
  /** The peak-memory section: one large checkpoint's resident memory from a cold start. */
  peakMemory?: PeakMemoryResult[];
  baselines: BaselineRow[];
  /** The browser-library section: vitkit's library path vs transformers.js in Chromium. */
  browserLibrary?: BrowserLibraryResult;
  notes: string[];
}
