import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPretrained } from '@vitkit/core';
import { fixturePath, testDevices } from '@vitkit/test-support';
import { afterAll, describe, expect, it } from 'vitest';
import { Detr } from './detr-model.js';

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));

// onnxruntime prints its node placement at verbose log level, from native code, to the process's
// stdout/stderr: a child process creates the session so the test can read that output.
const CHILD = `
import * as ort from 'onnxruntime-node';
ort.env.logLevel = 'verbose';
const s = await ort.InferenceSession.create(process.argv[1], { executionProviders: ['webgpu'], logSeverityLevel: 0, logVerbosityLevel: 0 });
await s.release();
`;

/** "All nodes placed on [EP]…" / "Node(s) placed on [EP]. Number of nodes: N" → { EP: N }. */
function placements(log: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of log.matchAll(/(?:All nodes|Node\(s\)) placed on \[(\w+)\]\. Number of nodes: (\d+)/g)) out[m[1]] = Number(m[2]);
  return out;
}

const dir = mkdtempSync(join(tmpdir(), 'vitkit-detr-placement-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CASES = ['detr/resnet-basic-padded', 'detr/timm-resnet50-tiny', 'detr_panoptic/resnet-basic-padded'];

describe.skipIf(!testDevices().includes('webgpu'))('DETR on webgpu: every node on the GPU', () => {
  it.each(CASES)('%s (the one graph of every input size)', async (id) => {
    const model = new Detr(await loadPretrained(fixturePath(id)), { device: 'webgpu' });
    const graph = model.runGraphFor(128, 160, { outputHiddenStates: true });
    expect(graph.toModelProto()).toEqual(model.runGraphFor(96, 200, { outputHiddenStates: true }).toModelProto());
    // Sizes are counted from the tensors (int32 CumSum), never read with Shape: WebGPU would run
    // Shape's int64 arithmetic on the CPU.
    for (const op of ['Shape', 'ConstantOfShape', 'Range', 'Resize']) expect(graph.opCounts().has(op), op).toBe(false);
    const path = join(dir, `${id.replace('/', '_')}.onnx`);
    writeFileSync(path, graph.toModelProto());
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', CHILD, path], {
      cwd: PACKAGE_DIR,
      env: process.env,
      encoding: 'utf8',
      timeout: 110_000,
      maxBuffer: 256 << 20,
    });
    expect(child.status, child.stderr.slice(-2000)).toBe(0);
    const placed = placements(child.stdout + child.stderr);
    expect(placed.WebGpuExecutionProvider, 'nodes on WebGPU').toBeGreaterThan(0);
    expect(placed, 'no node falls back to the CPU').not.toHaveProperty('CPUExecutionProvider');
    if (process.env.VITKIT_REPORT) console.log(`${id}: ${JSON.stringify(placed)}`);
  });
});
