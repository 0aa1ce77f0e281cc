// Scratch speed probe for vitkit's graphs (run through speed-probe.mjs). Not part of the package.
//
// Builds a real-size DINOv2 ViT-S/14 (config of facebook/dinov2-small) with synthesized weights through the
// DINO family's builder, and times it against raw onnxruntime on the Optimum-style export in the same process,
// alternating run by run. Also: per-op profiles (onnxruntime's profiler) and accuracy of each precision vs fp32.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, cpus } from 'node:os';
import { seededRandom } from '../../../tooling/test-support/devices.js';
import { buildDinoGraph, readDinoSpec } from '../../dino/src/model.js';
import {
  cosineSimilarity,
  type GraphBuilder,
  type GraphRequest,
  ModelSession,
  type SessionOptions,
  serializeGraph,
  Tensor,
  WeightStore,
} from '../src/internal.js';
import type { ModelDtype } from '../src/model/vision-model.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const has = (name: string) => args.includes(`--${name}`);
const RAW = flag('raw', '/tmp/pm/dinov2-small');
const DTYPES = flag('dtypes', 'fp32').split(',') as ModelDtype[];
const RUNS = Number(flag('runs', '20'));
const BATCH = Number(flag('batch', '1'));
const SIZE = Number(flag('size', '224'));
const THREADS = Number(flag('threads', String(availableParallelism())));
const KERNEL = flag('kernel', 'fused') as 'fused' | 'reference';
/** Extra ONNX files to time beside (e.g. a graph saved by an older checkout with --save). */
const EXTRA = flag('extra', '').split(',').filter(Boolean);

// ---- synthesized dinov2-small weights -------------------------------------------------------------
export function synthDinov2Small(seed = 1): { config: Record<string, unknown>; weights: WeightStore } {
  const config = JSON.parse(readFileSync(`${RAW}/config.json`, 'utf8'));
  const C = config.hidden_size as number;
  const L = config.num_hidden_layers as number;
  const P = config.patch_size as number;
  const grid = (config.image_size as number) / P;
  const r = seededRandom(seed);
  const t = new Map<string, Tensor>();
  const put = (name: string, shape: number[], std: number, mean = 0) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const d = new Float32Array(n);
    for (let i = 0; i < n; i++) d[i] = mean + std * r();
    t.set(name, new Tensor('float32', d, shape));
  };
  put('embeddings.cls_token', [1, 1, C], 0.02);
  put('embeddings.mask_token', [1, C], 0.02);
  put('embeddings.position_embeddings', [1, 1 + grid * grid, C], 0.02);
  put('embeddings.patch_embeddings.projection.weight', [C, 3, P, P], 0.02);
  put('embeddings.patch_embeddings.projection.bias', [C], 0.02);
  const lin = (name: string, o: number, i: number) => {
    put(`${name}.weight`, [o, i], 1 / Math.sqrt(i));
    put(`${name}.bias`, [o], 0.02);
  };
  for (let l = 0; l < L; l++) {
    const p = `encoder.layer.${l}.`;
    put(`${p}norm1.weight`, [C], 0.1, 1);
    put(`${p}norm1.bias`, [C], 0.02);
    lin(`${p}attention.attention.query`, C, C);
    lin(`${p}attention.attention.key`, C, C);
    lin(`${p}attention.attention.value`, C, C);
    lin(`${p}attention.output.dense`, C, C);
    put(`${p}layer_scale1.lambda1`, [C], 0.05, 0.2);
    put(`${p}norm2.weight`, [C], 0.1, 1);
    put(`${p}norm2.bias`, [C], 0.02);
    lin(`${p}mlp.fc1`, 4 * C, C);
    lin(`${p}mlp.fc2`, C, 4 * C);
    put(`${p}layer_scale2.lambda1`, [C], 0.05, 0.2);
  }
  put('layernorm.weight', [C], 0.1, 1);
  put('layernorm.bias', [C], 0.02);
  return { config, weights: new WeightStore(t, 'synthetic dinov2-small') };
}

let synth: ReturnType<typeof synthDinov2Small> | undefined;
export function buildVitkit(dtype: ModelDtype): GraphBuilder {
  synth ??= synthDinov2Small();
  const { config, weights } = synth;
  const spec = readDinoSpec(config, weights);
  const req = {
    height: SIZE,
    width: SIZE,
    outputHiddenStates: false,
    outputAttentions: false,
    attentionKernel: KERNEL,
    withPixelMask: false,
    dtype,
  } as GraphRequest;
  return buildDinoGraph(spec, weights, req);
}

function serializeOptions(dtype: ModelDtype) {
  return {
    weightPrecision: dtype,
    fusions: has('fusions'),
    int4AccuracyLevel: Number(flag('int4-level', '0')),
    int8Bits: Number(flag('int8-bits', '7')) as 7 | 8,
  };
}

// ---- timing ---------------------------------------------------------------------------------------
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)];

function pixels(): Tensor {
  const r = seededRandom(7);
  const d = new Float32Array(BATCH * 3 * SIZE * SIZE);
  for (let i = 0; i < d.length; i++) d[i] = r();
  return new Tensor('float32', d, [BATCH, 3, SIZE, SIZE]);
}

type Runner = { name: string; run: () => Promise<Float32Array>; close: () => Promise<void>; createMs: number };

async function vitkitRunner(dtype: ModelDtype, extra: SessionOptions = {}): Promise<Runner> {
  synth ??= synthDinov2Small();
  const t0 = performance.now();
  const g = buildVitkit(dtype);
  const proto = serializeGraph(g, serializeOptions(dtype));
  const t1 = performance.now();
  const session = await ModelSession.create(proto, { device: 'cpu', threads: THREADS, ...extra });
  const t2 = performance.now();
  console.log(
    `vitkit ${dtype}: build ${(t1 - t0).toFixed(0)} ms, session ${(t2 - t1).toFixed(0)} ms, ${g.nodeCount} nodes, ${(proto.byteLength / 1e6).toFixed(1)} MB, ops ${JSON.stringify(Object.fromEntries(g.opCounts()))}`,
  );
  const px = pixels();
  return {
    name: `vitkit-${dtype}`,
    createMs: t2 - t1,
    run: async () => (await session.run({ pixel_values: px })).last_hidden_state.data as Float32Array,
    close: () => session.dispose(),
  };
}

async function fileRunner(file: string): Promise<Runner> {
  const t0 = performance.now();
  const session = await ModelSession.create(new Uint8Array(readFileSync(file)), { device: 'cpu', threads: THREADS });
  const createMs = performance.now() - t0;
  const px = pixels();
  return {
    name: file.split('/').pop() as string,
    createMs,
    run: async () => (await session.run({ pixel_values: px })).last_hidden_state.data as Float32Array,
    close: () => session.dispose(),
  };
}

async function rawRunner(extra: Record<string, unknown> = {}): Promise<Runner> {
  const require = createRequire(import.meta.url);
  const ort = require('onnxruntime-node');
  const t0 = performance.now();
  const s = await ort.InferenceSession.create(`${RAW}/onnx/model.onnx`, {
    graphOptimizationLevel: 'all',
    intraOpNumThreads: THREADS,
    ...extra,
  });
  const createMs = performance.now() - t0;
  console.log(`raw onnxruntime: session ${createMs.toFixed(0)} ms`);
  const px = pixels();
  const feed = { pixel_values: new ort.Tensor('float32', px.data, px.shape) };
  return {
    name: 'raw-ort',
    createMs,
    run: async () => (await s.run(feed)).last_hidden_state.data as Float32Array,
    close: () => s.release(),
  };
}

async function timeAlternating(runners: Runner[], runs: number) {
  const times = runners.map(() => [] as number[]);
  const cpu = runners.map(() => [] as number[]);
  for (const r of runners) for (let i = 0; i < 3; i++) await r.run();
  for (let i = 0; i < runs; i++) {
    for (let j = 0; j < runners.length; j++) {
      const c = process.cpuUsage();
      const t = performance.now();
      await runners[j].run();
      times[j].push(performance.now() - t);
      const dc = process.cpuUsage(c);
      cpu[j].push((dc.user + dc.system) / 1000);
    }
  }
  const base = median(times[runners.length - 1]);
  for (let j = 0; j < runners.length; j++) {
    const m = median(times[j]);
    console.log(
      `  ${runners[j].name.padEnd(16)} median ${m.toFixed(1)} ms  p90 ${p90(times[j]).toFixed(1)} ms  cpu ${median(cpu[j]).toFixed(1)} ms  ${((BATCH * 1000) / m).toFixed(1)} img/s  ratio-to-last ${(m / base).toFixed(3)}`,
    );
  }
}

function cosine(a: Float32Array, b: Float32Array) {
  let maxAbs = 0;
  for (let i = 0; i < a.length; i++) maxAbs = Math.max(maxAbs, Math.abs(a[i] - b[i]));
  return { cos: cosineSimilarity(a, b), maxAbs };
}

/** Sums onnxruntime's per-node profile by op type (kernel time only). */
function summarizeProfile(prefix: string) {
  const dir = '/tmp';
  const file = readdirSync(dir)
    .filter((f) => f.startsWith(prefix.split('/').pop() as string) && f.endsWith('.json'))
    .map((f) => `${dir}/${f}`)
    .sort()
    .pop();
  if (!file) return console.log('  (no profile written)');
  const events = JSON.parse(readFileSync(file, 'utf8')) as {
    cat: string;
    name: string;
    dur: number;
    args?: { op_name?: string; provider?: string };
  }[];
  const byOp = new Map<string, { dur: number; n: number }>();
  let runs = 0;
  let total = 0;
  const runDurs: number[] = [];
  for (const e of events) {
    if (e.cat === 'Session' && e.name === 'model_run') {
      runs++;
      runDurs.push(e.dur / 1000);
    }
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const shapes = process.env.PROBE_SHAPES ? ` ${JSON.stringify((e.args as { input_type_shape?: unknown })?.input_type_shape)}` : '';
    const op = `${e.args?.op_name}@${e.args?.provider?.replace('ExecutionProvider', '')}${shapes}`;
    const s = byOp.get(op) ?? { dur: 0, n: 0 };
    s.dur += e.dur;
    s.n++;
    total += e.dur;
    byOp.set(op, s);
  }
  console.log(
    `  profile ${file}: ${runs} runs, kernel total ${(total / 1000 / Math.max(runs, 1)).toFixed(1)} ms/run, model_run median ${median(runDurs).toFixed(1)} ms`,
  );
  for (const [op, s] of [...byOp].sort((a, b) => b[1].dur - a[1].dur).slice(0, Number(process.env.PROBE_TOP ?? 14))) {
    console.log(
      `    ${op.padEnd(36)} ${(s.dur / 1000 / Math.max(runs, 1)).toFixed(2).padStart(7)} ms/run  ${String(s.n / Math.max(runs, 1)).padStart(5)} nodes/run`,
    );
  }
  if (!process.env.PROBE_KEEP) rmSync(file);
}

async function profile(dtype: ModelDtype | 'raw') {
  const prefix = `/tmp/vitkit-prof-${dtype}-${process.pid}`;
  const r =
    dtype === 'raw'
      ? await rawRunner({ enableProfiling: true, profileFilePrefix: prefix })
      : await vitkitRunner(dtype, { profilePrefix: prefix });
  for (let i = 0; i < 13; i++) await r.run();
  await r.close();
  summarizeProfile(prefix);
}

console.log(
  `machine: ${cpus()[0]?.model} x${cpus().length} (availableParallelism ${availableParallelism()}), node ${process.version}, threads ${THREADS}, batch ${BATCH}, ${SIZE}², kernel ${KERNEL}`,
);
if (has('save')) {
  const { writeFileSync } = await import('node:fs');
  for (const d of DTYPES)
    writeFileSync(flag('save', '/tmp/vitkit.onnx').replace('.onnx', `-${d}.onnx`), serializeGraph(buildVitkit(d), serializeOptions(d)));
  process.exit(0);
}
if (has('cold')) {
  // Cold start: graph build + session creation, optimized-model cache miss then hit, vs raw onnxruntime.
  const { mkdtempSync } = await import('node:fs');
  const dir = mkdtempSync('/tmp/vitkit-optcache-');
  synth ??= synthDinov2Small();
  for (const round of ['miss', 'hit', 'no-cache']) {
    const t0 = performance.now();
    const proto = buildVitkit('fp32').toModelProto();
    const t1 = performance.now();
    const s = await ModelSession.create(proto, {
      device: 'cpu',
      threads: THREADS,
      optimizedModelCache: round === 'no-cache' ? false : dir,
    });
    const t2 = performance.now();
    await s.run({ pixel_values: pixels() });
    const t3 = performance.now();
    console.log(
      `vitkit ${round.padEnd(8)}: build ${(t1 - t0).toFixed(0)} ms, session ${(t2 - t1).toFixed(0)} ms, first run ${(t3 - t2).toFixed(0)} ms, total ${(t3 - t0).toFixed(0)} ms`,
    );
    await s.dispose();
    const r0 = performance.now();
    const raw = await rawRunner();
    await raw.run();
    console.log(`raw ort         : session + first run ${(performance.now() - r0).toFixed(0)} ms`);
    await raw.close();
  }
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}
if (has('profile')) {
  for (const d of DTYPES) await profile(d);
  if (has('with-raw')) await profile('raw');
} else {
  const runners: Runner[] = [];
  for (const d of DTYPES) runners.push(await vitkitRunner(d));
  for (const file of EXTRA) runners.push(await fileRunner(file));
  if (has('noflash')) {
    // onnxruntime reads this when a MultiHeadAttention kernel is created: same graph, GEMM-based attention.
    process.env.ORT_DISABLE_FLASH_ATTENTION = '1';
    const r = await vitkitRunner(DTYPES[0]);
    r.name = 'noflash';
    runners.push(r);
    delete process.env.ORT_DISABLE_FLASH_ATTENTION;
  }
  if (!has('no-raw')) runners.push(await rawRunner());
  const ref = runners.find((r) => r.name === 'vitkit-fp32');
  if (ref) {
    const a = await ref.run();
    for (const r of runners) {
      if (r === ref || r.name === 'raw-ort') continue;
      const c = cosine(await r.run(), a);
      console.log(`  ${r.name} vs fp32: cosine ${c.cos.toFixed(6)}, max |diff| ${c.maxAbs.toExponential(2)}`);
    }
  }
  for (let pass = 0; pass < Number(flag('passes', '2')); pass++) {
    console.log(`pass ${pass + 1}: ${RUNS} runs each, alternating`);
    await timeAlternating(runners, RUNS);
  }
  for (const r of runners) await r.close();
}
