// Scratch speed probe for multi-scale deformable attention (run through deformable-attention-speed.mjs).
// Not part of the package. One Grounding-DINO-tiny encoder MSDA call at an 800×1066 input: d_model 256,
// 8 heads, 4 points, levels 100×134, 50×67, 25×34, 13×17, every flattened position a query (17 821),
// a bool value mask, synthesized weights. Times both sampling kernels alternating run by run (or one,
// with --kernel, so the process's peak RSS is its own).
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { randomArray } from '../../../tooling/test-support/devices.js';
import {
  type DeformableSamplingKernelName,
  GraphBuilder,
  ModelSession,
  multiScaleDeformableAttention,
  Tensor,
  WeightStore,
} from '../src/internal.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const KERNEL = flag('kernel', 'both') as DeformableSamplingKernelName | 'both';
const RUNS = Number(flag('runs', '10'));
const THREADS = Number(flag('threads', String(availableParallelism())));
const PROFILE = args.includes('--profile');

const C = 256;
const HEADS = 8;
const POINTS = 4;
const LEVELS: [number, number][] = [
  [100, 134],
  [50, 67],
  [25, 34],
  [13, 17],
];
const S = LEVELS.reduce((n, [h, w]) => n + h * w, 0);
const L = LEVELS.length;

function weights(): WeightStore {
  const n = HEADS * L * POINTS;
  const t = (shape: number[], seed: number, scale: number) =>
    new Tensor(
      'float32',
      randomArray(
        shape.reduce((a, b) => a * b, 1),
        seed,
        scale,
      ),
      shape,
    );
  const k = 1 / Math.sqrt(C);
  return new WeightStore(
    new Map([
      // Offsets of a few pixels around each reference point, as a trained model's.
      ['sampling_offsets.weight', t([n * 2, C], 1, 0.1 * k)],
      ['sampling_offsets.bias', t([n * 2], 2, 2)],
      ['attention_weights.weight', t([n, C], 3, k)],
      ['attention_weights.bias', t([n], 4, 0.1)],
      ['value_proj.weight', t([C, C], 5, k)],
      ['value_proj.bias', t([C], 6, 0.1)],
      ['output_proj.weight', t([C, C], 7, k)],
      ['output_proj.bias', t([C], 8, 0.1)],
    ]),
    'synthesized',
  );
}

/** Each query's reference point: its own pixel center, the same on every level (the encoder's, valid ratios 1). */
function referencePoints(): Float32Array {
  const out = new Float32Array(S * L * 2);
  let q = 0;
  for (const [h, w] of LEVELS) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++, q++) {
        for (let l = 0; l < L; l++) {
          out[(q * L + l) * 2] = (x + 0.5) / w;
          out[(q * L + l) * 2 + 1] = (y + 0.5) / h;
        }
      }
    }
  }
  return out;
}

function build(kernel: DeformableSamplingKernelName): GraphBuilder {
  const g = new GraphBuilder({ deformableSamplingKernel: kernel });
  const out = multiScaleDeformableAttention(g, weights(), {
    query: g.input('query', 'float32', [1, S, C]),
    value: g.input('value', 'float32', [1, S, C]),
    valueMask: g.input('mask', 'bool', [1, S]),
    referencePoints: g.input('ref', 'float32', [1, S, L, 2]),
    levelShapes: LEVELS,
    numHeads: HEADS,
    numPoints: POINTS,
  });
  g.output(out, 'out');
  return g;
}

const feeds = {
  query: new Tensor('float32', randomArray(S * C, 11), [1, S, C]),
  value: new Tensor('float32', randomArray(S * C, 12), [1, S, C]),
  mask: new Tensor('bool', new Uint8Array(S).fill(1), [1, S]),
  ref: new Tensor('float32', referencePoints(), [1, S, L, 2]),
};
const kernels: DeformableSamplingKernelName[] = KERNEL === 'both' ? ['grid-sample', 'gather'] : [KERNEL];
const runners = await Promise.all(
  kernels.map(async (kernel) => {
    const g = build(kernel);
    const prefix = `/tmp/vitkit-msda-prof-${kernel}-${process.pid}`;
    const session = await ModelSession.create(g.toModelProto(), {
      device: 'cpu',
      threads: THREADS,
      profilePrefix: PROFILE ? prefix : undefined,
    });
    return { kernel, nodes: g.nodeCount, session, prefix, times: [] as number[], out: new Float32Array() };
  }),
);
for (const r of runners) for (let i = 0; i < 2; i++) await r.session.run(feeds);
// Alternating run by run, so a busy machine's load falls on every kernel alike.
for (let i = 0; i < RUNS; i++) {
  for (const r of runners) {
    const t0 = performance.now();
    const res = await r.session.run(feeds);
    r.times.push(performance.now() - t0);
    r.out = res.out.data as Float32Array;
  }
}
for (const r of runners) {
  await r.session.dispose();
  const t = [...r.times].sort((a, b) => a - b);
  const maxAbsVsFirst = r.out.reduce((m, v, i) => Math.max(m, Math.abs(v - runners[0].out[i])), 0);
  console.log(
    JSON.stringify({
      kernel: r.kernel,
      queries: S,
      threads: THREADS,
      runs: RUNS,
      medianMs: +t[Math.floor(t.length / 2)].toFixed(1),
      minMs: +t[0].toFixed(1),
      maxMs: +t[t.length - 1].toFixed(1),
      nodes: r.nodes,
      maxAbsVsFirstKernel: maxAbsVsFirst,
    }),
  );
  if (PROFILE) summarizeProfile(r.prefix);
}
console.log(JSON.stringify({ maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024), kernels }));

/** onnxruntime's per-node kernel time, summed by op type, per run. */
function summarizeProfile(prefix: string) {
  const name = prefix.split('/').pop() as string;
  const file = readdirSync('/tmp').find((f) => f.startsWith(name) && f.endsWith('.json'));
  if (!file) return console.log('(no profile written)');
  const events = JSON.parse(readFileSync(`/tmp/${file}`, 'utf8')) as {
    cat: string;
    name: string;
    dur: number;
    args?: { op_name?: string };
  }[];
  const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').length;
  const byOp = new Map<string, number>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const op = e.args?.op_name ?? '?';
    byOp.set(op, (byOp.get(op) ?? 0) + e.dur);
  }
  for (const [op, dur] of [...byOp].sort((a, b) => b[1] - a[1]).slice(0, 12)) {
    console.log(`  ${op.padEnd(22)} ${(dur / 1000 / runs).toFixed(1).padStart(8)} ms/run`);
  }
  rmSync(`/tmp/${file}`);
}
