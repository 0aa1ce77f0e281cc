// The ceiling a row's GFLOP/s is a share of: the best the backend's GEMM and convolution kernels do
// in that row's precision, on a few large shapes and on the model's own heaviest ones.
//
// Why the model's own shapes: one 1024² fp32 MatMul chain was slower than the models' GEMMs here
// (DETR's convolutions beat it by 10 %), and int8 rows were compared with fp32 (130–145 %). A
// ceiling is now the best of (a) two large square MatMuls and (b) the model's three heaviest weight
// ops (Linear as MatMul, Conv as Conv), each serialized the way vitkit serializes the model in that
// precision (int8: DynamicQuantizeMatMul, int4: MatMulNBits, fp16: fp16 everywhere; convolutions
// stay float in int8/int4 as in the model), and timed at its best run. The model's time includes
// norms, softmax and its lighter shapes, so a row above 100 % of its own ceiling is a bug.
import { isVitkitError, ModelSession, VitkitError } from '@vitkit/core';
import { GraphBuilder, ops, serializeGraph } from '@vitkit/core/internal';
import { countFlops, type OpShape, opShapeFlops, opShapeLabel } from './flops.js';
import { webgpuIsSwiftShader } from './machine.js';
import { randomTensor } from './random-tensor.js';

/** How a backend's ceiling is sized: its compute decides how big a shape can be timed in tens of ms. */
export type CeilingKind = 'cpu' | 'wasm' | 'gpu' | 'swiftshader';

interface CeilingPlan {
  /** Square MatMuls [s×s]·[s×s] timed besides the model's shapes (rows capped like the model's). */
  squares: readonly number[];
  /** FLOPs one run of one ceiling graph may do: larger model shapes get fewer rows (never below `minRows`). */
  flopsPerRun: number;
  minRows: number;
  /** Timed runs after one warm-up; the best counts. */
  runs: number;
}

const PLANS: Record<CeilingKind, CeilingPlan> = {
  // ~50 ms a run at this machine's ~130 GFLOP/s.
  cpu: { squares: [1024, 2048], flopsPerRun: 6e9, minRows: 256, runs: 6 },
  wasm: { squares: [512, 1024], flopsPerRun: 2e9, minRows: 128, runs: 4 },
  gpu: { squares: [2048, 4096], flopsPerRun: 2e11, minRows: 1024, runs: 10 },
  // ~0.15 GFLOP/s: a 512² chain takes seconds.
  swiftshader: { squares: [64, 128], flopsPerRun: 2e7, minRows: 16, runs: 3 },
};

/** The most copies of one shape in a ceiling graph (each reads the same input; outputs kept apart). */
const MAX_COPIES = 4;

export function ceilingKind(backend: string): CeilingKind {
  if (backend === 'cpu') return 'cpu';
  if (backend === 'browser-wasm' || backend === 'wasm') return 'wasm';
  if ((backend === 'webgpu' || backend === 'browser-webgpu') && webgpuIsSwiftShader()) return 'swiftshader';
  return 'gpu';
}

/** The ceiling's name in rows and reports: which backend and which precision's kernels. */
export const ceilingName = (backend: string, dtype: string) => `${backend} ${dtype}`;

/** One shape a ceiling times: the model's (possibly with fewer rows, to fit a run's budget) or a square. */
export interface CeilingCandidate {
  source: 'model' | 'square';
  shape: OpShape;
  /** The model's shape it was cut from (rows capped), when it was. */
  cutFrom?: OpShape;
  copies: number;
}

/** Fewer rows (MatMul m; Conv batch, then output height) so one op fits `budget`, never below `minRows`. */
function fit(shape: OpShape, budget: number, minRows: number): OpShape {
  const f = opShapeFlops(shape);
  if (f <= budget) return shape;
  if (shape.op === 'MatMul') {
    const m = Math.min(shape.m, Math.max(minRows, Math.floor(budget / (2 * shape.k * shape.n))));
    return { ...shape, m };
  }
  const [h, w] = shape.out;
  const rows = shape.batch * h * w;
  const target = Math.min(rows, Math.max(minRows, Math.floor((rows * budget) / f)));
  if (target >= h * w) return { ...shape, batch: Math.floor(target / (h * w)) };
  return { ...shape, batch: 1, out: [Math.max(1, Math.floor(target / w)), w] };
}

/** The shapes a ceiling times on `kind`: the model's heaviest weight ops (see `heaviestOps`) and the squares. */
export function ceilingCandidates(modelOps: readonly OpShape[], kind: CeilingKind): CeilingCandidate[] {
  const plan = PLANS[kind];
  const out: CeilingCandidate[] = [];
  const add = (source: CeilingCandidate['source'], shape: OpShape) => {
    const fitted = fit(shape, plan.flopsPerRun, plan.minRows);
    if (out.some((c) => opShapeLabel(c.shape) === opShapeLabel(fitted))) return;
    const copies = Math.max(1, Math.min(MAX_COPIES, Math.floor(plan.flopsPerRun / opShapeFlops(fitted))));
    // A square is any large shape; a model shape cut to fewer rows keeps what it stands for.
    out.push({ source, shape: fitted, copies, ...(fitted !== shape && source === 'model' ? { cutFrom: shape } : {}) });
  };
  for (const s of modelOps) add('model', s);
  for (const s of plan.squares) add('square', { op: 'MatMul', m: s, k: s, n: s });
  return out;
}

export interface CeilingGraph {
  bytes: Uint8Array;
  /** FLOPs of one run, counted from the built graph. */
  flops: number;
  /** The one graph input ('x'), float32. */
  input: number[];
}

/**
 * `copies` of the candidate's op on one input (Linear weights [k, n]; Conv weights and bias with the
 * model's kernel, stride and groups, no padding, on the input that gives the model's output size),
 * each an output, serialized in `dtype` as vitkit serializes a model.
 */
export function ceilingGraph(c: CeilingCandidate, dtype: string): CeilingGraph {
  const g = new GraphBuilder({ name: 'gemm-ceiling' });
  const s = c.shape;
  let input: number[];
  if (s.op === 'MatMul') {
    input = [s.m, s.k];
    const x = g.input('x', 'float32', input);
    for (let i = 0; i < c.copies; i++) {
      const w = g.constant(randomTensor([s.k, s.n], 1000 + i, 1 / Math.sqrt(s.k)), `w${i}`);
      g.output(ops.matMul(g, x, w), `y${i}`);
    }
  } else {
    const [kh, kw] = s.kernel;
    const [sh, sw] = s.stride;
    input = [s.batch, s.cin, (s.out[0] - 1) * sh + kh, (s.out[1] - 1) * sw + kw];
    const x = g.input('x', 'float32', input);
    const fanIn = (s.cin / s.group) * kh * kw;
    for (let i = 0; i < c.copies; i++) {
      const w = g.constant(randomTensor([s.cout, s.cin / s.group, kh, kw], 1000 + i, 1 / Math.sqrt(fanIn)), `w${i}`);
      // With a bias, as the model's convolutions have (and onnxruntime-node 1.30's webgpu Conv crashes without one).
      const b = g.constant(randomTensor([s.cout], 2000 + i, 0.01), `b${i}`);
      g.output(ops.conv2d(g, x, w, b, { strides: [sh, sw], group: s.group }), `y${i}`);
    }
  }
  return { bytes: serializeGraph(g, { weightPrecision: dtype as 'fp32' }), flops: countFlops(g.nodeRecords()), input };
}

/** One shape's best run, as measured. */
export interface CeilingShapeResult {
  label: string;
  source: CeilingCandidate['source'];
  /** The model's shape it stands for, when rows were capped to fit a run. */
  cutFrom?: string;
  gflops: number;
  bestMs: number;
  runs: number;
}

/** A row's ceiling: the best of its shapes, in the row's backend and precision. */
export interface Ceiling {
  /** `${backend} ${dtype}`: which kernels it is the best of. */
  name: string;
  backend: string;
  dtype: string;
  /** The model whose shapes were among those timed. */
  model?: string;
  gflops: number;
  /** The shape that set it. */
  best: string;
  shapes: CeilingShapeResult[];
  /** Shapes that could not run (e.g. fp16 without shader-f16), and why. */
  failed?: string[];
}

/** Timed runs of one candidate's graph (the browser page returns these too). */
export interface CeilingTiming {
  candidate: CeilingCandidate;
  flops: number;
  times: readonly number[];
}

/** The ceiling from each shape's best run (the fastest: the kernels' best, not the machine's mood). */
export function ceilingFromTimings(
  meta: { backend: string; dtype: string; model?: string },
  timings: readonly CeilingTiming[],
  failed: readonly string[] = [],
): Ceiling {
  const shapes: CeilingShapeResult[] = timings.map((t) => {
    const bestMs = Math.min(...t.times);
    return {
      label: opShapeLabel(t.candidate.shape),
      source: t.candidate.source,
      ...(t.candidate.cutFrom ? { cutFrom: opShapeLabel(t.candidate.cutFrom) } : {}),
      gflops: t.flops / (bestMs / 1000) / 1e9,
      bestMs,
      runs: t.times.length,
    };
  });
  const top = shapes.reduce<CeilingShapeResult | undefined>((a, b) => (a && a.gflops >= b.gflops ? a : b), undefined);
  return {
    name: ceilingName(meta.backend, meta.dtype),
    backend: meta.backend,
    dtype: meta.dtype,
    ...(meta.model ? { model: meta.model } : {}),
    gflops: top?.gflops ?? Number.NaN,
    best: top?.label ?? 'none',
    shapes,
    ...(failed.length ? { failed: [...failed] } : {}),
  };
}

export interface MeasureCeilingOptions {
  backend: 'cpu' | 'webgpu' | 'cuda';
  dtype: string;
  /** The model's heaviest weight ops at the largest batch it is timed at (`heaviestOps`). */
  modelOps: readonly OpShape[];
  model?: string;
  threads?: number;
  onShape?: (label: string, index: number, total: number) => void;
}

/** Times every candidate in its own session (the options the model's sessions get: device, threads). */
export async function measureCeiling(o: MeasureCeilingOptions): Promise<Ceiling> {
  const kind = ceilingKind(o.backend);
  const candidates = ceilingCandidates(o.modelOps, kind);
  const timings: CeilingTiming[] = [];
  const failed: string[] = [];
  for (const [i, c] of candidates.entries()) {
    o.onShape?.(opShapeLabel(c.shape), i, candidates.length);
    const graph = ceilingGraph(c, o.dtype);
    let session: ModelSession | undefined;
    try {
      session = await ModelSession.create(graph.bytes, { device: o.backend, threads: o.threads });
      const x = randomTensor(graph.input, 7, 1);
      await session.run({ x });
      const times: number[] = [];
      for (let r = 0; r < PLANS[kind].runs; r++) {
        const t = performance.now();
        await session.run({ x });
        times.push(performance.now() - t);
      }
      timings.push({ candidate: c, flops: graph.flops, times });
    } catch (error) {
      // e.g. fp16 on an adapter without shader-f16 (found at the first run): the other shapes may run.
      if (!isVitkitError(error)) throw error;
      failed.push(`${opShapeLabel(c.shape)}: ${error.message}`);
    } finally {
      await session?.dispose();
    }
  }
  if (!timings.length) {
    throw new VitkitError(
      'SESSION_FAILED',
      `No ${ceilingName(o.backend, o.dtype)} ceiling shape could run: ${failed.join('; ')}. The rows of this precision have no ceiling here.`,
    );
  }
  return ceilingFromTimings(o, timings, failed);
}

/** Runs a ceiling graph takes in the browser page for `kind` (the same plan as in Node). */
export const ceilingRuns = (kind: CeilingKind) => PLANS[kind].runs;
