// The page of the graph-cache measurement: one cold (or cached) start of a checkpoint by URL, timed
// as an app sees it, and onnxruntime-web's own session options over the stored graph.
import { Tensor } from '@vitkit/core';
import { AutoModel } from '@vitkit/models';
import * as ort from 'onnxruntime-web/wasm';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const pixels = (size: number) =>
  new Tensor(
    'float32',
    Float32Array.from({ length: 3 * size * size }, (_, i) => Math.sin(i)),
    [1, 3, size, size],
  );

async function measureLoad(
  url: string,
  size: number,
  graphCache: boolean,
  graphOptimization: 'all' | 'extended' | 'basic' | 'disabled' = 'all',
): Promise<unknown> {
  const t0 = performance.now();
  const stages: Record<string, number> = {};
  const model = await AutoModel.fromPretrained(url, {
    graphCache,
    graphOptimization,
    onLoadProgress: (e) => {
      if (e.state === 'done') stages[e.stage] = e.ms;
    },
  });
  const fetchedMs = performance.now() - t0;
  const { fromCache } = await model.warmup(size, size);
  const readyMs = performance.now() - t0;
  const input = pixels(size);
  let t = performance.now();
  await model.run({ pixel_values: input });
  const firstRunMs = performance.now() - t;
  const coldStartMs = performance.now() - t0;
  const runs: number[] = [];
  for (let i = 0; i < 10; i++) {
    t = performance.now();
    await model.run({ pixel_values: input });
    runs.push(performance.now() - t);
  }
  await model.dispose();
  return {
    fromCache,
    fetchedMs,
    graphMs: stages.graph ?? 0,
    sessionMs: stages.session,
    readyMs,
    firstRunMs,
    coldStartMs,
    warmP50: median(runs),
    threads: ort.env.wasm.numThreads,
  };
}

/** onnxruntime-web's graph optimization levels over the stored graph: session create, and warm runs. */
async function measureOrtOptions(size: number): Promise<unknown> {
  const cache = await caches.open('vitkit-graphs');
  const [key] = await cache.keys();
  let t0 = performance.now();
  const bytes = new Uint8Array(await ((await cache.match(key)) as Response).arrayBuffer());
  const out: Record<string, unknown> = { graphMB: bytes.byteLength / 2 ** 20, cacheReadMs: performance.now() - t0 };
  t0 = performance.now();
  await crypto.subtle.digest('SHA-256', bytes);
  out.sha256Ms = performance.now() - t0;
  const feeds = { pixel_values: new ort.Tensor('float32', pixels(size).data as Float32Array, [1, 3, size, size]) };
  // The first session also instantiates onnxruntime-web's wasm: made and timed apart from the levels.
  t0 = performance.now();
  await (await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'disabled' })).release();
  out.firstSessionMs = performance.now() - t0;
  for (const level of ['all', 'extended', 'basic', 'disabled'] as const) {
    let t = performance.now();
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: level });
    const createMs = performance.now() - t;
    await session.run(feeds);
    const runs: number[] = [];
    for (let i = 0; i < 10; i++) {
      t = performance.now();
      await session.run(feeds);
      runs.push(performance.now() - t);
    }
    await session.release();
    out[level] = { createMs, warmP50: median(runs) };
  }
  try {
    const s = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], optimizedModelFilePath: 'optimized.onnx' });
    await s.release();
    out.optimizedModelFilePath = 'created (nothing readable back: the wasm build has no file system)';
  } catch (e) {
    out.optimizedModelFilePath = `refused: ${(e as Error).message}`;
  }
  return out;
}

Object.assign(globalThis, { measureLoad, measureOrtOptions, pageReady: true });
