// Measurement, not a check (runs only with VITKIT_MEASURE_GRAPH_CACHE=1, under flock /work/bench.lock):
// dinov2-small's real-size config with synthesized weights (as apps/bench makes them), loaded by URL
// in Chromium (wasm, cross-origin isolated), each load in a fresh browser on one profile: cold
// start, the second load (graph from the Cache API), cold without the cache; renderer peak RSS;
// and onnxruntime-web's optimization levels over the stored graph.
import { appendFileSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';
import { syntheticCheckpoint } from '../../../apps/bench/src/checkpoints.js';
import { bundleBrowserScript } from './test-support/bundle-for-tests.js';
import { type Chromium, callPage, launchChromium, openPage, serve } from './test-support/chromium-page.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const OUT = process.env.VITKIT_MEASURE_OUT ?? join(tmpdir(), 'vitkit-graph-cache-measure.jsonl');
const report = (line: unknown) => {
  console.log(JSON.stringify(line));
  appendFileSync(OUT, `${JSON.stringify(line)}\n`);
};
const CONFIG = fileURLToPath(new URL('../../../apps/bench/configs/dinov2-small/', import.meta.url));

function chromiumPids(profile: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(profile);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Largest VmHWM and VmRSS (MB) among this browser's processes: the renderer holding the wasm heap. */
function peakRss(profile: string): { hwm: number; rss: number } {
  let hwm = 0;
  let rss = 0;
  for (const pid of chromiumPids(profile)) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      hwm = Math.max(hwm, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
      rss = Math.max(rss, Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
    } catch {
      // exited
    }
  }
  return { hwm: Math.round(hwm), rss: Math.round(rss) };
}

describe.runIf(process.env.VITKIT_MEASURE_GRAPH_CACHE === '1' && existsSync('/proc'))('graph cache measurement (dinov2-small)', () => {
  it('cold vs second load', { timeout: 900_000 }, async () => {
    const dir = await syntheticCheckpoint(CONFIG, join(tmpdir(), 'vitkit-bench-checkpoints'), 'dinov2-small');
    const page = await bundleBrowserScript(join(HERE, 'test-support/graph-cache-measure-page.ts'));
    const server = await serve({ scripts: { '/page.js': page }, fixtures: dirname(dir) });
    const url = `/fixture/${basename(dir)}`;
    const rounds = Number(process.env.VITKIT_MEASURE_ROUNDS ?? 3);
    let profile: string | undefined;
    const once = async (graphCache: boolean, fresh: boolean, call = 'measureLoad', args: unknown[] = [url, 224, graphCache]) => {
      if (fresh && profile) rmSync(profile, { recursive: true, force: true });
      const browser: Chromium = await launchChromium(fresh ? undefined : profile);
      profile = browser.profile;
      try {
        const opened = await openPage(browser.context, `${server.origin}/`);
        const result = await callPage<Record<string, unknown>>(opened, call, args, 300_000);
        return { ...result, renderer: peakRss(browser.profile) };
      } finally {
        await browser.close(true);
      }
    };
    try {
      for (let r = 0; r < rounds; r++) {
        const uncached = await once(false, true);
        const cold = await once(true, true);
        const second = await once(true, false);
        report({ round: r, uncached, cold, second });
      }
      report({ ortOptions: await once(true, false, 'measureOrtOptions', [224]) });
    } finally {
      if (profile) rmSync(profile, { recursive: true, force: true });
      await server.close();
    }
  });
});
