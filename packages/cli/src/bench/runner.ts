// The bench runner: what `vitkit bench` and apps/bench both run. One process measures one checkpoint
// on one node backend (every dtype and batch asked for), so the peak RSS it reports belongs to that
// model. apps/bench (private, not published) runs this in a child process per model and backend, and
// adds the browser backends (with the same ceilings and row assembly), the baselines and the reports;
// the code lives in @vitkit/cli so that the CLI stays publishable without a private dependency.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Device, isVitkitError, loadPretrained, type ModelDtype, type ModelFamily, ModelSession, type RawConfig } from '@vitkit/core';
import { cosineSimilarity, serializeGraph } from '@vitkit/core/internal';
import { architectureFor, findFamily } from '@vitkit/models';
import { BENCH_PROMPT_IDS, benchFeeds } from './bench-inputs.js';
import { type Ceiling, measureCeiling } from './ceiling.js';
import { countFlops, heaviestOps, type OpShape } from './flops.js';
import { machineInfo, useSwiftShaderIfNoGpu } from './machine.js';
import {
  assembleRow,
  type BenchDtype,
  type BenchReport,
  type BenchRow,
  type BenchSkip,
  bestCeilings,
  dtypeNotForBackend,
  type NodeBackend,
  type SavedGraph,
} from './rows.js';

export {
  type Ceiling,
  type CeilingCandidate,
  type CeilingGraph,
  type CeilingKind,
  type CeilingShapeResult,
  type CeilingTiming,
  ceilingCandidates,
  ceilingFromTimings,
  ceilingGraph,
  ceilingKind,
  ceilingName,
  ceilingRuns,
  measureCeiling,
} from './ceiling.js';
export { countFlops, type DimValues, dimValue, heaviestOps, type OpShape, opShapeFlops, opShapeLabel } from './flops.js';
export { type MachineInfo, machineInfo, useSwiftShaderIfNoGpu, webgpuIsSwiftShader } from './machine.js';
export {
  formatPeakMemory,
  PEAK_MEMORY_TARGET,
  type PeakMemoryOptions,
  type PeakMemoryResult,
  runPeakMemory,
} from './peak-memory.js';
export {
  assembleRow,
  BACKEND_DTYPES,
  BENCH_DTYPES,
  type BenchDtype,
  type BenchReport,
  type BenchRow,
  type BenchSkip,
  BROWSER_BACKENDS,
  type BrowserBackend,
  bestCeilings,
  dtypeNotForBackend,
  NODE_BACKENDS,
  type NodeBackend,
  type RowTimings,
  type SavedGraph,
} from './rows.js';
export { percentile, round } from './statistics.js';
export {
  runVariedSizes,
  VARIED_SIZES_TARGETS,
  type VariedSizesImage,
  type VariedSizesOptions,
  type VariedSizesResult,
  variedSizes,
} from './varied-sizes.js';
export { cosineSimilarity };

export interface BenchOptions {
  model: string;
  /** Label in the rows (default: the model argument). */
  name?: string;
  backend: NodeBackend;
  dtypes: BenchDtype[];
  batches: number[];
  runs: number;
  threads?: number;
  /** [height, width]; default from preprocessor_config.json (DETR: 800×1066). */
  size?: [number, number];
  /** Write each dtype's built graph here (for the browser runner). */
  saveGraphDir?: string;
  onProgress?: (event: BenchEvent) => void;
}

export type BenchEvent =
  | { type: 'progress'; label: string; done: number; total: number }
  | { type: 'row'; row: BenchRow }
  | { type: 'skip'; skip: BenchSkip };

/** Bench input size: the registered family's default for this config (its processor's crop or resize size; DETR 800×1066). */
export function defaultInputSize(config: RawConfig, preprocessor: RawConfig | undefined): [number, number] {
  return findFamily(config).defaultInputSize(config, preprocessor);
}

export async function runBench(o: BenchOptions): Promise<BenchReport> {
  const emit = o.onProgress ?? (() => undefined);
  const name = o.name ?? o.model;
  const results: BenchRow[] = [];
  const skipped: BenchSkip[] = [];
  const graphs: SavedGraph[] = [];
  const ceilings: Ceiling[] = [];
  const skip = (dtype: string, code: string, reason: string) => {
    const s = { model: name, backend: o.backend, dtype, code, reason };
    skipped.push(s);
    emit({ type: 'skip', skip: s });
  };
  const report = (): BenchReport => ({
    machine: machineInfo(bestCeilings(ceilings)),
    results,
    skipped,
    ceilings,
    ...(o.saveGraphDir ? { graphs } : {}),
  });
  if (o.backend === 'webgpu') useSwiftShaderIfNoGpu();

  const t0 = performance.now();
  const files = await loadPretrained(o.model);
  const loadMs = performance.now() - t0;
  const architecture = architectureFor(files.config) ?? String(files.config.model_type);
  let family: ModelFamily;
  try {
    family = findFamily(files.config);
  } catch (error) {
    if (!isVitkitError(error, 'MODEL_TYPE_UNSUPPORTED')) throw error;
    for (const d of o.dtypes) skip(d, 'FAMILY_PENDING', error.message);
    return report();
  }
  const [height, width] = o.size ?? family.defaultInputSize(files.config, files.preprocessorConfig);
  const dtypes = o.dtypes.filter((d) => {
    const why = dtypeNotForBackend(o.backend, d);
    if (why) skip(d, 'DTYPE_NOT_FOR_BACKEND', why);
    return !why;
  });
  const total = dtypes.length * o.batches.length;
  const maxBatch = Math.max(...o.batches);
  let done = 0;
  let reference: Float32Array | undefined;

  for (const dtype of dtypes) {
    let model: ReturnType<ModelFamily['create']>;
    try {
      model = family.create(files, { device: o.backend, dtype: dtype as ModelDtype, threads: o.threads });
    } catch (error) {
      if (isVitkitError(error) && error.code === 'INVALID_ARGUMENT') {
        skip(dtype, 'DTYPE_NOT_SUPPORTED', error.message);
        done += o.batches.length;
        continue;
      }
      throw error;
    }
    emit({ type: 'progress', label: `${name} ${o.backend} ${dtype}: building graph`, done, total });
    const tb = performance.now();
    const graph = model.graphFor(height, width);
    // FLOPs are the model's math, the same in every precision: counted on the float32 graph the family built.
    // A text-conditioned model's 'sequence' dim is the bench prompt's length.
    const flopsPerImage = countFlops(graph.nodeRecords(), { batch: 1, sequence: BENCH_PROMPT_IDS.length });
    const bytes = serializeGraph(graph, { weightPrecision: dtype });
    const buildMs = performance.now() - tb;
    // The ceiling times the model's own heaviest shapes at the largest batch it is timed at.
    const modelOps: OpShape[] = heaviestOps(graph.nodeRecords(), { batch: maxBatch, sequence: BENCH_PROMPT_IDS.length });
    // The session options the model itself would use (threads, device), so the numbers are the library's.
    const sessionOptions = (model as unknown as { sessionOptions(): { device?: Device; threads?: number } }).sessionOptions();
    let session: ModelSession;
    const ts = performance.now();
    try {
      session = await ModelSession.create(bytes, sessionOptions);
    } catch (error) {
      if (!isVitkitError(error)) throw error;
      if (error.code === 'BACKEND_UNAVAILABLE' || error.code === 'BACKEND_PACKAGE_MISSING') {
        // This precision and the rest cannot run here; what ran (and the graphs saved) is still reported.
        for (const d of dtypes.slice(dtypes.indexOf(dtype))) skip(d, error.code, error.message);
        await model.dispose();
        break;
      }
      // e.g. fp16 on an adapter without shader-f16: this precision cannot run here; the others may.
      skip(dtype, error.code, error.message);
      done += o.batches.length;
      await model.dispose();
      continue;
    }
    const sessionMs = performance.now() - ts;
    if (o.saveGraphDir) {
      await mkdir(o.saveGraphDir, { recursive: true });
      const path = join(o.saveGraphDir, `${dtype}.onnx`);
      await writeFile(path, bytes);
      graphs.push({
        model: name,
        dtype,
        path,
        input: [1, 3, height, width],
        gflopPerImage: flopsPerImage / 1e9,
        buildMs,
        outputName: session.outputNames[0],
        heaviestOps: heaviestOps(graph.nodeRecords(), { batch: o.batches[0], sequence: BENCH_PROMPT_IDS.length }),
      });
    }
    let first = true;
    try {
      // Timed just before this precision's rows, in this process: the machine is shared, and a
      // ceiling taken minutes earlier under another load is not this row's.
      const ceiling = await measureCeiling({
        backend: o.backend,
        dtype,
        modelOps,
        model: name,
        threads: sessionOptions.threads,
        onShape: (label, i, n) => emit({ type: 'progress', label: `${o.backend} ${dtype} ceiling ${i + 1}/${n}: ${label}`, done, total }),
      }).catch((error: unknown) => {
        // No shape could run: the rows still run, without a share (NaN), and the reason is listed.
        if (!isVitkitError(error)) throw error;
        skip(dtype, 'NO_CEILING', error.message);
        return undefined;
      });
      if (ceiling) ceilings.push(ceiling);
      for (const batch of o.batches) {
        const feeds = benchFeeds(model.inputSpecs, batch, height, width);
        emit({ type: 'progress', label: `${name} ${o.backend} ${dtype} b${batch}: first run`, done, total });
        const tf = performance.now();
        const outputs = await session.run(feeds);
        const firstRunMs = performance.now() - tf;
        const main = outputs[session.outputNames[0]].toFloat32().data as Float32Array;
        let cosine: number | undefined;
        if (batch === o.batches[0]) {
          if (dtype === 'fp32') reference = main;
          else if (reference && reference.length === main.length) cosine = cosineSimilarity(reference, main);
        }
        const times: number[] = [];
        for (let i = 0; i < o.runs; i++) {
          emit({ type: 'progress', label: `${name} ${o.backend} ${dtype} b${batch}: run ${i + 1}/${o.runs}`, done, total });
          const t = performance.now();
          await session.run(feeds);
          times.push(performance.now() - t);
        }
        const row = assembleRow({
          model: name,
          backend: o.backend,
          dtype,
          batch,
          flopsPerImage,
          times,
          firstRunMs,
          buildMs: first ? buildMs : 0,
          sessionMs: first ? sessionMs : 0,
          peakRssMb: process.resourceUsage().maxRSS / 1024,
          ceiling,
          input: [batch, 3, height, width],
          architecture,
          loadMs,
          cosineVsFp32: cosine,
        });
        first = false;
        results.push(row);
        emit({ type: 'row', row });
        done++;
      }
    } catch (error) {
      if (!isVitkitError(error)) throw error;
      skip(dtype, error.code, error.message);
    } finally {
      await session.dispose();
      await model.dispose();
    }
  }
  return report();
}
