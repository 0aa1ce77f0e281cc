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
import type { ImageSetsResult } from './image-sets-child.js';

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
  /** The image-sets section: files in → vectors stored, against the model alone, transformers.js and the distributed mode. */
  imageSets?: ImageSetsReport;
  /** The image-sets-distributed section: one process against workers on a BullMQ queue. */
  imageSetsDistributed?: DistributedReport;
  baselines: BaselineRow[];
  /** The browser-library section: vitkit's library path vs transformers.js in Chromium. */
  browserLibrary?: BrowserLibraryResult;
  notes: string[];
}

// The image-sets sections (image-sets.ts).
export type ImageSetsRunner = 'model fp32' | 'model int8' | 'vitkit fp32' | 'vitkit int8' | 'transformers.js';

export interface ImageSetsRound {
  round: number;
  runner: ImageSetsRunner;
  result: ImageSetsResult;
}

/** One distributed round: `vitkit embed` in one process, then the same images through the queue. */
export interface DistributedRound {
  round: number;
  /** One `vitkit embed <folder>` process, start to exit (its model load included). */
  singleSeconds: number;
  /** `vitkit queue add` start → every shard done → `vitkit queue merge` exit, the workers already waiting. */
  distributedSeconds: number;
  ratio: number;
  enqueueSeconds: number;
  mergeSeconds: number;
  /** Each worker's first shard: added to the queue → taken (ms). */
  firstPickupMs: number[];
  /** A shard taken after the previous one on the same worker finished (ms, median). */
  pickupGapMsP50: number;
  /** The processor's time outside buildImageIndex: each worker's first shard (sandbox start, model load), later ones (median), ms. */
  outsideIndexMsFirst: number[];
  outsideIndexMsLaterP50: number;
  /** buildImageIndex's seconds per shard (median) and the images in it. */
  shardSecondsP50: number;
  /** Last shard done → merge exit is mergeSeconds; all shards done, first to last worker (ms): the tail one worker runs alone. */
  tailMs: number;
}

export interface DistributedReport {
  images: number;
  shards: number;
  shardSize: number;
  workers: number;
  rounds: DistributedRound[];
  /** Median over rounds of single-process seconds over distributed seconds (throughput share). */
  ratio: number;
}

export interface ImageSetsReport {
  model: string;
  images: number;
  batch: number;
  rounds: ImageSetsRound[];
  /** Peak RSS of the vitkit fp32 end-to-end run at 100 images and at `images`. */
  peakRssMb: { at100: number; atAll: number };
  /** Medians over rounds. */
  summary: Record<string, number>;
  skipped: string[];
}
