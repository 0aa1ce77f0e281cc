// `vitkit bench`: the benchmark's JSON contract for tools, and the per-process runner apps/bench drives.
//
// One process measures one checkpoint on one node backend (every dtype and batch asked for), so the
// peak RSS it reports belongs to that model. apps/bench (private, not published) spawns this command
// for each model and backend, and adds the browser backends, the baselines and the reports; the code
// lives here rather than there so that @vitkit/cli stays publishable without a private dependency.
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  type Device,
  isVitkitError,
  loadPretrained,
  type ModelDtype,
  type ModelFamily,
  ModelSession,
  type RawConfig,
  Tensor,
  VitkitError,
} from '@vitkit/core';
import { cosineSimilarity, GraphBuilder, ops, serializeGraph } from '@vitkit/core/internal';
import { architectureFor, findFamily } from '@vitkit/models';
import { type Command, Option } from 'commander';
import { writeFileAtomic } from '../output-file.js';

export { cosineSimilarity };

export const BENCH_DTYPES = ['fp32', 'fp16', 'int8', 'int4'] as const;
export type BenchDtype = (typeof BENCH_DTYPES)[number];
export const NODE_BACKENDS = ['cpu', 'webgpu', 'cuda'] as const;
export type NodeBackend = (typeof NODE_BACKENDS)[number];

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGb: number;
  platform: string;
  node: string;
  onnxruntimeNode: string;
  vitkit: string;
  /** Same-run MatMul-only throughput per backend (GFLOP/s), the denominator of `ceilingShare`. */
  ceilingGflops: Record<string, number>;
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
  ceilingShare: number;
  peakRssMb: number;
  architecture?: string;
  input?: number[];
  runs?: number;
  gflopPerImage?: number;
  /** Cosine similarity of the main output to fp32's on the same input (non-fp32 rows). */
  cosineVsFp32?: number;
  loadMs?: number;
  /** The MatMul ceiling (GFLOP/s) `ceilingShare` is of. */
  ceilingGflops?: number;
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
}

export interface BenchReport {
  machine: MachineInfo;
  results: BenchRow[];
  skipped: BenchSkip[];
  graphs?: SavedGraph[];
}

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
  /** Reuse a ceiling measured earlier in the same run instead of timing it here. */
  ceilingGflops?: number;
  /** Write each dtype's built graph here (for the browser runner). */
  saveGraphDir?: string;
  onProgress?: (event: BenchEvent) => void;
}

export type BenchEvent =
  | { type: 'progress'; label: string; done: number; total: number }
  | { type: 'row'; row: BenchRow }
  | { type: 'skip'; skip: BenchSkip };

// ---------------------------------------------------------------------------------------------
// FLOPs, counted from the graph vitkit built (multiply-add = 2 FLOPs).

interface FlopNode {
  readonly opType: string;
  readonly inputs: readonly ({ readonly shape: readonly (number | string)[] } | undefined)[];
  readonly outputs: readonly { readonly shape: readonly (number | string)[] }[];
  readonly attrs: Readonly<Record<string, unknown>>;
}

const dims = (shape: readonly (number | string)[], batch: number) => shape.map((d) => (typeof d === 'number' ? d : batch));
const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);

/**
 * FLOPs of one forward pass at `batch` (symbolic dims are the batch): MatMul-like ops, Gemm, Conv
 * and attention (com.microsoft MultiHeadAttention / Attention). Elementwise ops, norms and softmax
 * are left out: they are a few percent of a ViT's work and are memory-bound anyway.
 */
export function countFlops(nodes: readonly FlopNode[], batch = 1): number {
  let flops = 0;
  for (const n of nodes) {
    const inShape = (i: number) => dims(n.inputs[i]?.shape ?? [], batch);
    const out = dims(n.outputs[0]?.shape ?? [], batch);
    switch (n.opType) {
      case 'MatMul':
      case 'MatMulInteger':
      case 'FusedMatMul':
      case 'DynamicQuantizeMatMul':
      case 'QLinearMatMul': {
        const a = inShape(0);
        flops += 2 * prod(out) * a[a.length - 1];
        break;
      }
      case 'MatMulNBits':
        flops += 2 * prod(out) * Number(n.attrs.K);
        break;
      case 'Gemm': {
        const a = inShape(0);
        const k = n.attrs.transA ? a[0] : a[1];
        flops += 2 * prod(out) * k;
        break;
      }
      case 'Conv': {
        const w = inShape(1); // [Cout, Cin/group, kh, kw]
        flops += 2 * prod(out) * prod(w.slice(1));
        break;
      }
      case 'MultiHeadAttention':
      case 'Attention': {
        // q [B, Sq, C] (or [B, Sq, H, D]), k [B, Sk, C]: Q·Kᵀ and P·V, 2·B·Sq·Sk·C each.
        const q = inShape(0);
        const k = n.inputs[1] ? inShape(1) : q;
        const c = n.opType === 'Attention' ? out[out.length - 1] : prod(q.slice(2));
        flops += 2 * 2 * q[0] * q[1] * k[1] * c;
        break;
      }
    }
  }
  return flops;
}

// ---------------------------------------------------------------------------------------------
// Machine, ceiling.

export function machineInfo(ceilingGflops: Record<string, number> = {}): MachineInfo {
  const require = createRequire(import.meta.url);
  const version = (pkg: string) => {
    try {
      return (require(`${pkg}/package.json`) as { version: string }).version;
    } catch {
      return 'not installed';
    }
  };
  const cpuList = cpus();
  return {
    cpu: cpuList[0]?.model.trim() ?? 'unknown',
    cores: cpuList.length,
    memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    platform: `${process.platform}-${process.arch}`,
    node: process.version,
    onnxruntimeNode: version('onnxruntime-node'),
    vitkit: version('@vitkit/core'),
    ceilingGflops,
  };
}

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** On a machine without a GPU, point Dawn's Vulkan loader at Chromium's SwiftShader before the first webgpu session. */
export function useSwiftShaderIfNoGpu(): boolean {
  if (process.env.VK_ICD_FILENAMES || !existsSync(SWIFTSHADER_ICD) || existsSync('/dev/nvidia0') || existsSync('/dev/dri/renderD128'))
    return false;
  process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  return true;
}

/** A MatMul-only graph: `depth` chained [m,k]×[k,k] products, what the backend's GEMM can do at best. */
export function ceilingGraph(m: number, k: number, depth = 4): { bytes: Uint8Array; flops: number } {
  const g = new GraphBuilder({ name: 'matmul-ceiling' });
  let x = g.input('a', 'float32', [m, k]);
  for (let i = 0; i < depth; i++) x = ops.matMul(g, x, g.constant(randomTensor([k, k], 1000 + i, 1 / Math.sqrt(k)), `w${i}`));
  g.output(x, 'y');
  return { bytes: g.toModelProto(), flops: countFlops(g.nodeRecords()) };
}

/** True when webgpu here is Chromium's SwiftShader (Vulkan on the CPU, ~0.1–1 GFLOP/s), not a GPU. */
export function webgpuIsSwiftShader(): boolean {
  return /swiftshader/i.test(process.env.VK_ICD_FILENAMES ?? '') && !existsSync('/dev/nvidia0') && !existsSync('/dev/dri/renderD128');
}

/** Sizes that take tens of ms: 1024² on cpu, 2048² on a GPU, 128² on SwiftShader (~0.15 GFLOP/s: a 512² chain takes seconds). */
export function ceilingSize(backend: string): { m: number; k: number; runs: number } {
  if (backend === 'cpu') return { m: 1024, k: 1024, runs: 12 };
  if (backend === 'webgpu' && webgpuIsSwiftShader()) return { m: 128, k: 128, runs: 5 };
  return { m: 2048, k: 2048, runs: 12 };
}

export async function measureCeiling(backend: NodeBackend, threads?: number): Promise<number> {
  const { m, k, runs } = ceilingSize(backend);
  const { bytes, flops } = ceilingGraph(m, k);
  const session = await ModelSession.create(bytes, { device: backend, threads });
  try {
    const a = randomTensor([m, k], 7, 1);
    await session.run({ a });
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      await session.run({ a });
      times.push(performance.now() - t);
    }
    return flops / (percentile(times, 50) / 1000) / 1e9;
  } finally {
    await session.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// The runner.

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
  const skip = (dtype: string, code: string, reason: string) => {
    const s = { model: name, backend: o.backend, dtype, code, reason };
    skipped.push(s);
    emit({ type: 'skip', skip: s });
  };
  if (o.backend === 'webgpu') useSwiftShaderIfNoGpu();

  let ceiling = o.ceilingGflops;
  const machine = machineInfo();
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
    return { machine, results, skipped };
  }
  const [height, width] = o.size ?? family.defaultInputSize(files.config, files.preprocessorConfig);
  const total = o.dtypes.length * o.batches.length;
  let done = 0;
  let reference: Float32Array | undefined;

  for (const dtype of o.dtypes) {
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
    const flopsPerImage = countFlops(graph.nodeRecords(), 1);
    const bytes = serialize(graph, dtype);
    const buildMs = performance.now() - tb;
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
        for (const d of o.dtypes.slice(o.dtypes.indexOf(dtype))) skip(d, error.code, error.message);
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
      });
    }
    if (ceiling === undefined) {
      emit({ type: 'progress', label: `${o.backend}: timing the MatMul ceiling`, done, total });
      ceiling = await measureCeiling(o.backend, o.threads);
    }
    let first = true;
    try {
      for (const batch of o.batches) {
        const pixels = randomTensor([batch, 3, height, width], 42, 1);
        emit({ type: 'progress', label: `${name} ${o.backend} ${dtype} b${batch}: first run`, done, total });
        const tf = performance.now();
        const outputs = await session.run({ pixel_values: pixels });
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
          await session.run({ pixel_values: pixels });
          times.push(performance.now() - t);
        }
        const p50 = percentile(times, 50);
        const gflops = (flopsPerImage * batch) / (p50 / 1000) / 1e9;
        const row: BenchRow = {
          model: name,
          backend: o.backend,
          dtype,
          batch,
          buildMs: round(first ? buildMs : 0),
          sessionMs: round(first ? sessionMs : 0),
          firstRunMs: round(firstRunMs),
          p50Ms: round(p50),
          p90Ms: round(percentile(times, 90)),
          imagesPerSecond: round((batch * 1000) / p50),
          gflops: round(gflops),
          ceilingShare: round(gflops / ceiling, 3),
          ceilingGflops: round(ceiling),
          peakRssMb: round(process.resourceUsage().maxRSS / 1024, 0),
          architecture,
          input: [batch, 3, height, width],
          runs: o.runs,
          gflopPerImage: round(flopsPerImage / 1e9, 3),
          loadMs: round(loadMs),
          ...(cosine === undefined ? {} : { cosineVsFp32: round(cosine, 6) }),
        };
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
  const report: BenchReport = {
    machine: { ...machine, ceilingGflops: ceiling === undefined ? {} : { [o.backend]: round(ceiling) } },
    results,
    skipped,
  };
  if (o.saveGraphDir) report.graphs = graphs;
  return report;
}

// ---------------------------------------------------------------------------------------------
// Helpers.

/** As VisionModel serializes: `serializeGraph(g, { weightPrecision })` is where core turns the float32 graph into fp16/int8/int4. */
function serialize(graph: GraphBuilder, dtype: BenchDtype): Uint8Array {
  return serializeGraph(graph, { weightPrecision: dtype });
}

export function percentile(values: readonly number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const rank = (p / 100) * (s.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return s[lo] + (s[hi] - s[lo]) * (rank - lo);
}

/** Two decimals, or four significant digits for small values (tiny fixture models run in microseconds). */
const round = (v: number, digits = 2) =>
  Math.abs(v) < 1 && digits === 2 ? Number(v.toPrecision(4)) : Math.round(v * 10 ** digits) / 10 ** digits;

/** Seeded N(0, scale²) values (deterministic inputs and ceiling weights). */
function randomTensor(shape: number[], seed: number, scale: number): Tensor<'float32'> {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) + 0.5) / 4294967296;
  };
  for (let i = 0; i < n; i++) data[i] = scale * Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next());
  return Tensor.fromFloat32(data, shape);
}

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

interface CliOptions {
  model: string;
  name?: string;
  backend: string;
  dtype: string;
  batch: string;
  runs: string;
  threads?: string;
  size?: string;
  ceilingGflops?: string;
  saveGraphs?: string;
  json?: string;
}

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('Time a checkpoint: graph build, session, first run, warm p50/p90, images/s, GFLOP/s vs a MatMul ceiling, peak RSS')
    .requiredOption('--model <dir-or-id>', 'checkpoint folder or Hugging Face id')
    .addOption(new Option('--backend <list>', `node backend(s): ${NODE_BACKENDS.join(', ')}`).default('cpu'))
    .addOption(new Option('--dtype <list>', `precision(s): ${BENCH_DTYPES.join(', ')}`).default('fp32'))
    .option('--batch <list>', 'batch size(s), e.g. 1,8', '1')
    .option('--runs <n>', 'warm runs per row (after one first run)', '15')
    .option('--threads <n>', 'intra-op threads (default: every core)')
    .option('--size <HxW>', 'input size (default: the preprocessor crop; DETR 800x1066)')
    .option('--name <label>', 'model label in the rows')
    .option('--ceiling-gflops <n>', 'reuse a MatMul ceiling measured earlier in the same run')
    .option('--save-graphs <dir>', 'also write each built graph to <dir>/<dtype>.onnx')
    .option('--json <file>', 'write { machine, results, skipped } to this file ("-" for stdout)')
    .action(async (o: CliOptions) => {
      const backends = parseList(o.backend, NODE_BACKENDS, 'backend');
      const dtypes = parseList(o.dtype, BENCH_DTYPES, 'dtype');
      const batches = parseInts(o.batch, 'batch');
      const [runs] = parseInts(o.runs, 'runs');
      const size = o.size ? (parseInts(o.size.replace('x', ','), 'size') as [number, number]) : undefined;
      const send = process.send?.bind(process);
      const tty = !send && process.stderr.isTTY;
      const merged: BenchReport = { machine: machineInfo(), results: [], skipped: [] };
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
          ceilingGflops: o.ceilingGflops && backends.length === 1 ? Number(o.ceilingGflops) : undefined,
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
        Object.assign(merged.machine.ceilingGflops, report.machine.ceilingGflops);
        if (report.graphs) merged.graphs = [...(merged.graphs ?? []), ...report.graphs];
      }
      if (tty) process.stderr.write('\r\x1b[2K');
      const json = `${JSON.stringify(merged, null, 2)}\n`;
      if (o.json === '-') process.stdout.write(json);
      else if (o.json) await writeFileAtomic(o.json, json);
    });
}

function formatRow(r: BenchRow): string {
  return `${r.model} ${r.backend} ${r.dtype} b${r.batch}: build ${r.buildMs} ms, session ${r.sessionMs} ms, first ${r.firstRunMs} ms, p50 ${r.p50Ms} ms, p90 ${r.p90Ms} ms, ${r.imagesPerSecond} img/s, ${r.gflops} GFLOP/s (${Math.round(r.ceilingShare * 100)}% of ceiling), peak RSS ${r.peakRssMb} MB`;
}
