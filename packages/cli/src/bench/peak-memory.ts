// `vitkit bench --peak-memory`: what a checkpoint costs in resident memory from a cold start, in a
// process of its own (so the peak is the model's): after AutoModel.fromPretrained (headers read, no
// weights), after the session for one input size is made (graph built, onnxruntime loaded), and
// after one run. The target is about one copy of the weights above where the process started.
import { type ModelDtype, VitkitError } from '@vitkit/core';
import { AutoModel, findFamily } from '@vitkit/models';
import { benchFeeds } from './bench-inputs.js';
import { round } from './statistics.js';

/** Peak RSS growth over the process's start, in copies of the checkpoint's weights. */
export const PEAK_MEMORY_TARGET = { copies: 1.25 } as const;

export interface PeakMemoryOptions {
  /** Checkpoint folder or Hub id. */
  model: string;
  /** Label in the result (default: the model argument). */
  name?: string;
  backend?: 'cpu' | 'webgpu' | 'cuda';
  dtype?: ModelDtype;
  threads?: number;
  /** Input size (default: the family's for this checkpoint). */
  size?: [number, number];
  onProgress?: (label: string) => void;
}

export interface PeakMemoryResult {
  model: string;
  architecture: string;
  backend: string;
  dtype: string;
  height: number;
  width: number;
  /** The checkpoint's tensors in their stored dtypes. */
  weightsMb: number;
  /** Resident set when the measurement began (runtime, libraries). */
  startMb: number;
  /** The process's peak resident set after each step. */
  loadedPeakMb: number;
  sessionPeakMb: number;
  runPeakMb: number;
  /** (runPeakMb − startMb) / weightsMb. */
  copies: number;
  target: typeof PEAK_MEMORY_TARGET;
  loadMs: number;
  sessionMs: number;
  runMs: number;
}

/** process.resourceUsage().maxRSS is in KiB. */
const peakMb = () => process.resourceUsage().maxRSS / 1024;

export async function runPeakMemory(o: PeakMemoryOptions): Promise<PeakMemoryResult> {
  const startMb = process.memoryUsage.rss() / 2 ** 20;
  o.onProgress?.('loading the checkpoint');
  let t = performance.now();
  const model = await AutoModel.fromPretrained(o.model, { device: o.backend ?? 'cpu', dtype: o.dtype ?? 'fp32', threads: o.threads });
  const loadMs = performance.now() - t;
  const loadedPeakMb = peakMb();
  try {
    const [height, width] = o.size ?? findFamily(model.files.config).defaultInputSize(model.files.config, model.files.preprocessorConfig);
    const weightsMb = model.files.weights.byteLength / 2 ** 20;
    if (weightsMb === 0) throw new VitkitError('INVALID_ARGUMENT', `${o.model} has no weights to measure.`);
    o.onProgress?.(`${height}×${width}: building the graph and the session`);
    t = performance.now();
    await model.warmup(height, width);
    const sessionMs = performance.now() - t;
    const sessionPeakMb = peakMb();
    o.onProgress?.(`${height}×${width}: one run`);
    t = performance.now();
    await model.run(benchFeeds(model.inputSpecs, 1, height, width, 42));
    const runMs = performance.now() - t;
    const runPeakMb = peakMb();
    return {
      model: o.name ?? o.model,
      architecture: model.architecture,
      backend: o.backend ?? 'cpu',
      dtype: o.dtype ?? 'fp32',
      height,
      width,
      weightsMb: round(weightsMb, 3),
      startMb: round(startMb, 0),
      loadedPeakMb: round(loadedPeakMb, 0),
      sessionPeakMb: round(sessionPeakMb, 0),
      runPeakMb: round(runPeakMb, 0),
      copies: round((runPeakMb - startMb) / weightsMb, 3),
      target: PEAK_MEMORY_TARGET,
      loadMs: round(loadMs),
      sessionMs: round(sessionMs),
      runMs: round(runMs),
    };
  } finally {
    await model.dispose();
  }
}

export function formatPeakMemory(r: PeakMemoryResult): string {
  return `${r.model} (${r.architecture}, ${r.backend} ${r.dtype}, ${r.height}×${r.width}): ${r.weightsMb} MiB of weights; peak RSS ${r.runPeakMb} MiB from ${r.startMb} MiB at the start (loaded ${r.loadedPeakMb}, session ${r.sessionPeakMb}) = ${r.copies} copies of the weights (target ≤ ${r.target.copies}); load ${r.loadMs} ms, session ${r.sessionMs} ms, run ${r.runMs} ms`;
}
