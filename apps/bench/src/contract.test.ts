// The JSON contract for tools: `vitkit bench --model <dir> --backend cpu --dtype fp32 --batch 1 --runs N --json <file>`
// writes { machine, results: [{ model, backend, dtype, batch, buildMs, sessionMs, firstRunMs, p50Ms, p90Ms,
// imagesPerSecond, gflops, ceilingShare, peakRssMb, ceilingName, … }], ceilings }. Runs the built CLI (packages/cli/dist).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testDevices } from '@vitkit/test-support';
import { describe, expect, it } from 'vitest';
import { cliBin, runCli } from './cli-child.js';

const FIXTURE = fileURLToPath(new URL('../../../fixtures/dinov2/default-res', import.meta.url));
const FIELDS = [
  'model',
  'backend',
  'dtype',
  'batch',
  'buildMs',
  'sessionMs',
  'firstRunMs',
  'p50Ms',
  'p90Ms',
  'imagesPerSecond',
  'gflops',
  'ceilingShare',
  'peakRssMb',
];

describe.skipIf(!existsSync(cliBin()))('vitkit bench JSON contract', () => {
  it('writes { machine, results } with every field, as numbers where they are measures', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vitkit-bench-contract-'));
    try {
      const out = join(dir, 'r.json');
      execFileSync(
        process.execPath,
        [cliBin(), 'bench', '--model', FIXTURE, '--backend', 'cpu', '--dtype', 'fp32', '--batch', '1', '--runs', '3', '--json', out],
        {
          stdio: 'pipe',
        },
      );
      const report = JSON.parse(readFileSync(out, 'utf8'));
      expect(Object.keys(report)).toEqual(expect.arrayContaining(['machine', 'results']));
      expect(report.machine).toMatchObject({ cores: expect.any(Number), cpu: expect.any(String), onnxruntimeNode: expect.any(String) });
      // Each row names the ceiling it is a share of; the machine keeps the best of each.
      expect(report.machine.ceilingGflops['cpu fp32']).toBeGreaterThan(0);
      expect(report.ceilings.map((c: { name: string }) => c.name)).toEqual(['cpu fp32']);
      expect(report.results).toHaveLength(1);
      const row = report.results[0];
      for (const f of FIELDS) expect(row, f).toHaveProperty(f);
      expect(row).toMatchObject({ model: FIXTURE, backend: 'cpu', dtype: 'fp32', batch: 1 });
      for (const f of FIELDS.slice(4)) expect(typeof row[f], f).toBe('number');
      expect(row.p90Ms).toBeGreaterThanOrEqual(row.p50Ms);
      expect(row.gflops).toBeGreaterThan(0);
      expect(row.ceilingName).toBe('cpu fp32');
      expect(row.ceilingGflops).toBeCloseTo(report.ceilings[0].gflops, 1);
      expect(row.peakRssMb).toBeGreaterThan(10);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports an unavailable backend as skipped, with the reason', async () => {
    const report = await runCli(['--model', FIXTURE, '--backend', 'cuda', '--dtype', 'fp32', '--runs', '1']);
    expect(report.results).toEqual([]);
    expect(report.skipped[0]).toMatchObject({ backend: 'cuda', code: 'BACKEND_UNAVAILABLE' });
  });

  // Chromium's webgpu rows take the graphs the node webgpu child saved; a precision the adapter
  // cannot run (fp16 without shader-f16 on SwiftShader) once made the child drop them all.
  it.skipIf(!testDevices().includes('webgpu'))('keeps the graphs it saved when a later precision cannot run on the backend', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vitkit-bench-graphs-'));
    try {
      const report = await runCli(['--model', FIXTURE, '--backend', 'webgpu', '--dtype', 'fp32,fp16', '--runs', '1', '--save-graphs', dir]);
      expect(report.graphs?.map((g) => g.dtype)).toContain('fp32');
      const accounted = [...report.results.map((r) => r.dtype), ...report.skipped.map((s) => s.dtype)];
      expect(accounted).toEqual(expect.arrayContaining(['fp32', 'fp16']));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
