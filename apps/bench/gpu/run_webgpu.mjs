// onnxruntime-node's WebGPU provider (Dawn on Vulkan) on a real GPU, over the skeletons
// `pnpm bench:gpu-export` wrote and run_gpu.py filled (model.data present). Plain Node, one
// dependency (onnxruntime-node), so it runs from pack-node.sh's archive on a machine without npm.
// For each folder: where onnxruntime placed the nodes (a child process at verbose log level, the only
// place it says), then warm-up and timed runs per batch; results to <out>/webgpu-results.json.
// Usage: node run_webgpu.mjs --skeletons <dir> --out <dir> [--models a,b] [--device webgpu|cpu] [--runs 20] [--warmup 5]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';

const { values: o } = parseArgs({
  options: {
    skeletons: { type: 'string' },
    out: { type: 'string' },
    models: { type: 'string', default: 'dinov2-small-fp32,dinov2-small-fp16' },
    device: { type: 'string', default: 'webgpu' },
    runs: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '5' },
    placement: { type: 'string' },
  },
});

if (o.placement) {
  // Child mode: create the session loudly and exit; the parent reads the placement lines.
  ort.env.logLevel = 'verbose';
  const s = await ort.InferenceSession.create(o.placement, { executionProviders: [o.device], logSeverityLevel: 0, logVerbosityLevel: 0 });
  await s.release();
  process.exit(0);
}

const placementsOf = (log) => {
  const out = {};
  for (const m of log.matchAll(/(?:All nodes|Node\(s\)) placed on \[(\w+)\]\. Number of nodes: (\d+)/g)) out[m[1]] = Number(m[2]);
  return out;
};
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

mkdirSync(o.out, { recursive: true });
const results = { environment: { node: process.version, onnxruntime: ort.env.versions, device: o.device }, rows: [], skipped: [] };
const save = () => {
  writeFileSync(join(o.out, 'webgpu-results.json.partial'), JSON.stringify(results, null, 1));
  renameSync(join(o.out, 'webgpu-results.json.partial'), join(o.out, 'webgpu-results.json'));
};
const wanted = o.models.split(',');
for (const name of readdirSync(o.skeletons).filter((n) => wanted.includes(n))) {
  const folder = join(o.skeletons, name);
  const manifest = JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8'));
  if (!existsSync(join(folder, manifest.data.file))) {
    results.skipped.push({ model: name, reason: 'model.data missing: run run_gpu.py first (it fills the weights)' });
    continue;
  }
  const child = spawnSync(process.execPath, [process.argv[1], '--placement', join(folder, 'model.onnx'), '--device', o.device], {
    encoding: 'utf8',
    maxBuffer: 256 << 20,
    timeout: 120_000,
  });
  const placement = placementsOf(`${child.stdout}${child.stderr}`);
  const fused = /MultiHeadAttention/.test(readFileSync(join(folder, 'model.onnx')).toString('latin1'));
  let session;
  try {
    const t = performance.now();
    session = await ort.InferenceSession.create(join(folder, 'model.onnx'), { executionProviders: [o.device] });
    results.environment.sessionMs = performance.now() - t;
  } catch (e) {
    results.skipped.push({
      model: name,
      reason: `session failed: ${String(e.message ?? e).split('\n')[0]}`,
      placement,
      childStatus: child.status,
    });
    save();
    continue;
  }
  for (const batch of manifest.batches) {
    const feeds = {};
    for (const spec of manifest.inputs) {
      const shape = spec.shape.map((d) => (d === 'batch' ? batch : Number(d)));
      const n = shape.reduce((a, b) => a * b, 1);
      const data = spec.name === 'pixel_mask' ? new Float32Array(n).fill(1) : Float32Array.from({ length: n }, (_, i) => Math.sin(i));
      feeds[spec.name] = new ort.Tensor('float32', data, shape);
    }
    try {
      for (let i = 0; i < Number(o.warmup); i++) await session.run(feeds);
      const times = [];
      let finite = true;
      for (let i = 0; i < Number(o.runs); i++) {
        const t = performance.now();
        const out = await session.run(feeds);
        times.push(performance.now() - t);
        if (i === 0) finite = Object.values(out).every((v) => v.type !== 'float32' || v.data.every(Number.isFinite));
      }
      times.sort((a, b) => a - b);
      const p50 = percentile(times, 50);
      const row = {
        model: manifest.model,
        dtype: manifest.dtype,
        batch,
        runner: `vitkit graph (onnxruntime-node ${o.device})`,
        p50_ms: +p50.toFixed(3),
        p90_ms: +percentile(times, 90).toFixed(3),
        images_per_s: +((batch * 1000) / p50).toFixed(2),
        runs: times.length,
        fused_attention_in_graph: fused,
        placement,
        outputs_finite: finite,
      };
      results.rows.push(row);
      console.log(JSON.stringify(row));
    } catch (e) {
      results.skipped.push({ model: name, batch, reason: `run failed: ${String(e.message ?? e).split('\n')[0]}` });
    }
    save();
  }
  await session.release();
}
save();
console.log(`wrote ${join(o.out, 'webgpu-results.json')} (${results.rows.length} rows, ${results.skipped.length} skipped)`);
