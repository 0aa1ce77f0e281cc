// The GPU script's CPU path, as CI runs it: vitkit's CUDA graphs exported without their weights,
// filled by apps/bench/gpu/run_gpu.py (numpy only), then loaded and run by onnxruntime-node here.
// Needs python3 with numpy (.ci/run installs python3-numpy); without it the suite skips locally and
// fails under CI=true.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { onnx } from '@vitkit/core/internal';
import ortModule from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportSkeletons, type SkeletonManifest } from './gpu-export.js';

const ort = ortModule;
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SCRIPT = join(ROOT, 'apps/bench/gpu/run_gpu.py');
const WEBGPU_SCRIPT = join(ROOT, 'apps/bench/gpu/run_webgpu.mjs');
const PYTHON = process.env.PYTHON ?? 'python3';

function pythonWithNumpy(): boolean {
  try {
    execFileSync(PYTHON, ['-c', 'import numpy'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const havePython = pythonWithNumpy();
if (!havePython && process.env.CI)
  throw new Error(`CI needs ${PYTHON} with numpy for the GPU script's smoke test (apt-get install python3-numpy).`);

describe.skipIf(!havePython)('the GPU script, CPU path', () => {
  const out = mkdtempSync(join(tmpdir(), 'vitkit-gpu-smoke-'));
  const targets = [
    { name: 'dinov2', checkpoint: join(ROOT, 'fixtures/dinov2/default-res'), batches: [1, 2] },
    { name: 'detr', checkpoint: join(ROOT, 'fixtures/detr/resnet-basic'), batches: [1], size: [64, 80] as [number, number] },
  ];
  let folders: string[];
  let results: {
    rows: Record<string, unknown>[];
    skipped: { runner?: string; reason: string }[];
    filled: { folder: string; bytes: number }[];
  };

  beforeAll(async () => {
    folders = await exportSkeletons(targets, out);
    // torch is absent here (and on CI); onnxruntime for Python too, most likely: both end up skipped, with reasons.
    await promisify(execFile)(PYTHON, [SCRIPT, '--skeletons', out, '--out', join(out, 'results'), '--cpu', '--runs', '2', '--warmup', '1']);
    results = JSON.parse(readFileSync(join(out, 'results', 'gpu-results.json'), 'utf8'));
  }, 120_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('exports each model in fp32 and fp16 with every float weight left out and integer constants kept', () => {
    expect(folders.map((f) => f.split('/').pop())).toEqual(['dinov2-fp32', 'dinov2-fp16', 'detr-fp32', 'detr-fp16']);
    for (const folder of folders) {
      const manifest = JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8')) as SkeletonManifest;
      const model = onnx.ModelProto.decode(readFileSync(join(folder, 'model.onnx')));
      const inline = (model.graph?.initializer ?? []).filter((t) => (t.rawData?.length ?? 0) > 0);
      expect(inline.every((t) => t.dataType !== 1 && t.dataType !== 10)).toBe(true); // no float bytes travel
      const wanted = manifest.dtype === 'fp16' ? 'float16' : 'float32';
      expect(manifest.tensors.some((t) => t.dtype === wanted)).toBe(true);
      const end = Math.max(...manifest.tensors.map((t) => t.offset + t.length));
      expect(manifest.data.bytes).toBe(end);
      expect(statSync(join(folder, 'model.onnx')).size).toBeLessThan(manifest.data.bytes); // the weights are the bulk
    }
  });

  it('fills model.data from the manifest and reports what it could not run, with the reason', () => {
    expect(results.filled.map((f) => f.folder).sort()).toEqual(['detr-fp16', 'detr-fp32', 'dinov2-fp16', 'dinov2-fp32']);
    for (const f of results.filled) expect(statSync(join(out, f.folder, 'model.data')).size).toBe(f.bytes);
    const pytorch = results.skipped.filter((s) => s.runner === 'pytorch');
    const onnxruntimeRows = results.rows.filter((r) => r.runner === 'vitkit graph (onnxruntime)');
    // Either Python has onnxruntime (CPU rows) or it says it has not; torch likewise.
    expect(onnxruntimeRows.length > 0 || results.skipped.some((s) => s.runner === 'onnxruntime' && /absent/.test(s.reason))).toBe(true);
    expect(pytorch.length > 0 || results.rows.some((r) => String(r.runner).startsWith('pytorch'))).toBe(true);
  });

  it('gives graphs onnxruntime runs once filled: finite outputs of the declared names at each batch', async () => {
    for (const folder of folders.filter((f) => f.endsWith('-fp32'))) {
      const manifest = JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8')) as SkeletonManifest;
      const session = await ort.InferenceSession.create(join(folder, 'model.onnx'));
      for (const batch of manifest.batches) {
        const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
        for (const spec of manifest.inputs) {
          const shape = spec.shape.map((d) => (d === 'batch' ? batch : Number(d)));
          const n = shape.reduce((a, b) => a * b, 1);
          expect(spec.dtype).toBe('float32'); // pixel_values, and DETR's pixel_mask as 0/1
          const data = spec.name === 'pixel_mask' ? new Float32Array(n).fill(1) : Float32Array.from({ length: n }, (_, i) => Math.sin(i));
          feeds[spec.name] = new ort.Tensor('float32', data, shape);
        }
        const outputs = await session.run(feeds);
        expect(Object.keys(outputs).sort()).toEqual([...manifest.outputs].sort());
        for (const o of Object.values(outputs)) {
          expect(o.dims[0]).toBe(batch);
          if (o.type === 'float32') expect((o.data as Float32Array).every(Number.isFinite)).toBe(true);
        }
      }
      await session.release();
    }
  }, 60_000);

  it("runs run_webgpu.mjs's loop (here on --device cpu): placement read from onnxruntime's log, timed rows per batch", async () => {
    const dir = join(out, 'webgpu');
    await promisify(execFile)(process.execPath, [
      WEBGPU_SCRIPT,
      '--skeletons',
      out,
      '--out',
      dir,
      '--models',
      'dinov2-fp32',
      '--device',
      'cpu',
      '--runs',
      '2',
      '--warmup',
      '1',
    ]);
    const r = JSON.parse(readFileSync(join(dir, 'webgpu-results.json'), 'utf8')) as { rows: Record<string, unknown>[]; skipped: unknown[] };
    expect(r.skipped).toEqual([]);
    expect(r.rows.map((row) => row.batch)).toEqual([1, 2]);
    for (const row of r.rows) {
      expect(row).toMatchObject({ model: 'dinov2', dtype: 'fp32', runs: 2, fused_attention_in_graph: true, outputs_finite: true });
      expect((row.placement as Record<string, number>).CPUExecutionProvider).toBeGreaterThan(0);
      expect(row.p50_ms as number).toBeGreaterThan(0);
    }
  }, 60_000);
});
