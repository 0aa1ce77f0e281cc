// Where Grounding DINO's time goes on onnxruntime's cpu provider, by part of the model (not shipped; run after `pnpm build`):
//   node packages/grounding-dino/scripts/profile.mjs <checkpoint-folder> [--dtype fp32|int8] [--size 800x1066] [--runs 2]
// One graph is built for the size, a session is created with onnxruntime's profiler on, the bench's inputs
// (the prompt "a cat. a remote control.") run `runs` times after a warm-up, and every kernel's time is
// attributed to the scope its node was built in (vision, text, encoder fusion / text / deformable layers,
// query selection, decoder), with the deformable sampling (GridSample) shown apart.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ModelSession } from '@vitkit/core';
import { serializeGraph } from '@vitkit/core/internal';
import { benchFeeds } from '../../cli/dist/bench/bench-inputs.js';
import { GroundingDino } from '../dist/index.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    dtype: { type: 'string', default: 'fp32' },
    size: { type: 'string', default: '800x1066' },
    runs: { type: 'string', default: '2' },
  },
});
const [dir] = positionals;
if (!dir) throw new Error('usage: profile.mjs <checkpoint-folder> [--dtype fp32|int8] [--size HxW] [--runs n]');
const [height, width] = values.size.split('x').map(Number);
const model = await GroundingDino.fromPretrained(dir, { device: 'cpu' });
const graph = model.graphFor(height, width);
const bytes = serializeGraph(graph, { weightPrecision: values.dtype });
const prefix = join(tmpdir(), `vitkit-gd-profile-${process.pid}`);
const session = await ModelSession.create(bytes, { device: 'cpu', profilePrefix: prefix });
const feeds = benchFeeds(model.inputSpecs, 1, height, width);
await session.run(feeds); // warm-up, not attributed below (its events come first and are dropped)
const runs = Number(values.runs);
const wall = [];
for (let i = 0; i < runs; i++) {
  const t = performance.now();
  await session.run(feeds);
  wall.push(performance.now() - t);
}
session.endProfiling();
await session.dispose();

const file = readdirProfile(prefix);
const events = JSON.parse(readFileSync(file, 'utf8'));
rmSync(file, { force: true });
// The model_run events mark each run; keep the kernels of the last `runs` runs.
const modelRuns = events.filter((e) => e.name === 'model_run');
const from = modelRuns[modelRuns.length - runs].ts;
const kernels = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time') && e.ts >= from);

function part(node, op) {
  const n = node.replace(/_kernel_time$/, '');
  if (n.startsWith('vision/')) return 'Swin backbone + input projections';
  if (n.startsWith('text/')) return 'BERT text encoder';
  if (/encoder\.layers\.\d+\/fusion_layer/.test(n)) return 'encoder: image↔text fusion';
  if (/encoder\.layers\.\d+\/text_enhancer_layer/.test(n)) return 'encoder: text self-attention';
  if (/encoder\.layers\.\d+\/deformable_layer/.test(n))
    return op === 'GridSample' || op === 'GatherND' ? 'encoder: deformable sampling (GridSample)' : 'encoder: deformable layer, the rest';
  if (n.startsWith('query_selection')) return 'two-stage query selection';
  if (/decoder\.layers\.\d+/.test(n))
    return op === 'GridSample' || op === 'GatherND' ? 'decoder: deformable sampling' : 'decoder: the rest';
  return 'other (reference points, heads, glue)';
}
const byPart = new Map();
const byOp = new Map();
let total = 0;
for (const e of kernels) {
  const op = e.args?.op_name ?? '?';
  const p = part(e.name, op);
  byPart.set(p, (byPart.get(p) ?? 0) + e.dur);
  byOp.set(op, (byOp.get(op) ?? 0) + e.dur);
  total += e.dur;
}
const ms = (us) => (us / 1000 / runs).toFixed(0);
const pct = (us) => `${((100 * us) / total).toFixed(1)} %`;
console.log(
  `grounding-dino ${values.dtype} ${height}x${width}, batch 1, prompt of ${feeds.input_ids.shape[1]} tokens: ${runs} runs, wall ${wall.map((w) => w.toFixed(0)).join(' / ')} ms; kernels ${ms(total)} ms a run`,
);
console.log('\n| part | ms a run | share |\n|---|---|---|');
for (const [p, us] of [...byPart].sort((a, b) => b[1] - a[1])) console.log(`| ${p} | ${ms(us)} | ${pct(us)} |`);
console.log('\n| op | ms a run | share |\n|---|---|---|');
for (const [op, us] of [...byOp].sort((a, b) => b[1] - a[1]).slice(0, 8)) console.log(`| ${op} | ${ms(us)} | ${pct(us)} |`);

function readdirProfile(p) {
  const base = p.slice(tmpdir().length + 1);
  const found = readdirSync(tmpdir()).filter((f) => f.startsWith(base) && f.endsWith('.json'));
  if (found.length !== 1) throw new Error(`expected one profile ${base}*.json in ${tmpdir()}, found ${found.length}`);
  return join(tmpdir(), found[0]);
}
