import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BASELINE_RUNNERS, runBaseline } from './baseline.js';

const FIXTURES = fileURLToPath(new URL('../../../fixtures/', import.meta.url));

// The anchors run on the fixture exports (tiny Optimum-style exports of the fixture weights): a short run each.
describe('baseline modes on fixture exports', () => {
  for (const runner of BASELINE_RUNNERS) {
    for (const [name, input] of [
      ['dinov2/default-res', [1, 3, 56, 56]],
      ['detr/resnet-basic', [1, 3, 64, 80]],
    ] as const) {
      it(`${runner} on ${name}`, async () => {
        const r = await runBaseline({ runner, folder: `${FIXTURES}${name}`, input: [...input], runs: 2 });
        expect(r.times).toHaveLength(2);
        expect(r.coldStartMs).toBeGreaterThan(0);
        expect(r.firstRunMs).toBeGreaterThan(0);
        expect(r.peakRssMb).toBeGreaterThan(10);
      });
    }
  }

  it('vitkit, measured the same way, loads from its optimized-model cache on the second cold start', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'vitkit-bench-anchor-cache-'));
    try {
      const req = {
        runner: 'vitkit' as const,
        folder: `${FIXTURES}dinov2/default-res`,
        input: [1, 3, 56, 56],
        runs: 2,
        optimizedModelCache: cache,
      };
      const miss = await runBaseline(req);
      expect(miss.fromCache).toBe(false);
      expect(readdirSync(cache)).toHaveLength(1);
      const hit = await runBaseline(req);
      expect(hit.fromCache).toBe(true);
      expect(hit.times).toHaveLength(2);
      expect(hit.importMs).toBeGreaterThan(0);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });
});
