// The page script bundled by esbuild and loaded in headless Chromium: it fetches a graph vitkit built
// in Node, and times onnxruntime-web's session creation, first run and warm runs on wasm or webgpu.
import * as ort from 'onnxruntime-web/webgpu';
import { randomInput } from './random-input.js';

export interface PageRequest {
  graphUrl: string;
  backend: 'wasm' | 'webgpu';
  /** [3, H, W]: one image; batches stack it. */
  image: number[];
  batches: number[];
  runs: number;
  threads: number;
  /**
   * The ceiling's graphs (the runner's `ceilingGraph`s for this model and precision), timed first in
   * the same page; this also pays wasm start-up before the model's session is timed.
   */
  ceilings?: { graphUrl: string; input: number[]; runs: number }[];
}

export interface PageBatchResult {
  batch: number;
  firstRunMs: number;
  times: number[];
  /** The main output's first values at the first batch, to compare precisions. */
  output?: number[];
}

export interface PageResult {
  sessionMs: number;
  fetchMs: number;
  threads: number;
  crossOriginIsolated: boolean;
  adapter?: string;
  /** Each ceiling graph's warm runs (ms), in request order; Node turns them into the ceiling. */
  ceilingTimes?: number[][];
  batches: PageBatchResult[];
}

async function adapterInfo(): Promise<string | undefined> {
  const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<{ info?: Record<string, string> } | null> } }).gpu;
  const adapter = await gpu?.requestAdapter();
  if (!adapter) return undefined;
  const info = adapter.info ?? {};
  return [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'unknown adapter';
}

async function ceilingTimes(backend: 'wasm' | 'webgpu', c: NonNullable<PageRequest['ceilings']>[number]): Promise<number[]> {
  const bytes = new Uint8Array(await (await fetch(c.graphUrl)).arrayBuffer());
  const session = await ort.InferenceSession.create(bytes, { executionProviders: [backend], graphOptimizationLevel: 'all' });
  try {
    const a = new ort.Tensor('float32', randomInput(c.input.reduce((x, y) => x * y, 1)), c.input);
    const feed = { [session.inputNames[0]]: a };
    for (const v of Object.values(await session.run(feed))) v.dispose();
    const times: number[] = [];
    for (let i = 0; i < c.runs; i++) {
      const t = performance.now();
      const out = await session.run(feed);
      times.push(performance.now() - t);
      for (const v of Object.values(out)) v.dispose();
    }
    return times;
  } finally {
    await session.release();
  }
}

async function bench(req: PageRequest): Promise<PageResult> {
  ort.env.wasm.wasmPaths = '/ort/';
  ort.env.wasm.numThreads = crossOriginIsolated ? req.threads : 1;
  ort.env.logLevel = 'error';
  const ceilingRuns: number[][] = [];
  // A shape that cannot run here (fp16 without shader-f16) has no times; the model's session says why.
  for (const c of req.ceilings ?? []) ceilingRuns.push(await ceilingTimes(req.backend, c).catch(() => []));
  const tf = performance.now();
  const bytes = new Uint8Array(await (await fetch(req.graphUrl)).arrayBuffer());
  const fetchMs = performance.now() - tf;
  const ts = performance.now();
  const session = await ort.InferenceSession.create(bytes, { executionProviders: [req.backend], graphOptimizationLevel: 'all' });
  const sessionMs = performance.now() - ts;
  const batches: PageBatchResult[] = [];
  try {
    const perImage = req.image.reduce((a, b) => a * b, 1);
    for (const batch of req.batches) {
      const input = new ort.Tensor('float32', randomInput(perImage * batch), [batch, ...req.image]);
      // The image first; a pixel mask (DETR) as the processor makes it for one unpadded image: all ones.
      const [, height, width] = req.image;
      const feeds: Record<string, InstanceType<typeof ort.Tensor>> = { [session.inputNames[0]]: input };
      for (const name of session.inputNames.slice(1)) {
        if (!name.endsWith('_mask')) throw new Error(`the bench page feeds images and pixel masks, not "${name}"`);
        feeds[name] = new ort.Tensor('float32', new Float32Array(batch * height * width).fill(1), [batch, height, width]);
      }
      const t1 = performance.now();
      const first = await session.run(feeds);
      const firstRunMs = performance.now() - t1;
      const main = first[session.outputNames[0]];
      const output = batch === req.batches[0] ? Array.from((await main.getData()) as Float32Array) : undefined;
      for (const t of Object.values(first)) t.dispose();
      const times: number[] = [];
      for (let i = 0; i < req.runs; i++) {
        const t = performance.now();
        const out = await session.run(feeds);
        times.push(performance.now() - t);
        for (const v of Object.values(out)) v.dispose();
      }
      batches.push({ batch, firstRunMs, times, output });
    }
  } finally {
    await session.release();
  }
  return {
    sessionMs,
    fetchMs,
    threads: ort.env.wasm.numThreads ?? 1,
    crossOriginIsolated,
    adapter: req.backend === 'webgpu' ? await adapterInfo() : undefined,
    ceilingTimes: ceilingRuns,
    batches,
  };
}

(globalThis as unknown as { vitkitBench: typeof bench }).vitkitBench = bench;
(globalThis as unknown as { vitkitReady: boolean }).vitkitReady = true;
