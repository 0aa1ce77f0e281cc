// One anchor measurement in its own process (so its peak RSS and its cold start are its own):
// transformers.js or raw onnxruntime-node on an Optimum-style export (`<folder>/onnx/model.onnx` +
// config.json), or vitkit on a checkpoint folder, through the calls a user makes.
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomInput } from './random-input.js';

export interface BaselineRequest {
  runner: 'transformers.js' | 'onnxruntime' | 'vitkit';
  /** The export folder; for vitkit, the checkpoint folder (config.json + weights). */
  folder: string;
  input: number[];
  runs: number;
  /** vitkit: the optimizedModelCache folder (a hit skips reading weights and building the graph). */
  optimizedModelCache?: string;
}

export interface BaselineResult {
  /** Importing the library (its first `import()` in this process). */
  importMs: number;
  /** Load → ready, import excluded: from_pretrained, InferenceSession.create, or vitkit's fromPretrained + warmup. */
  coldStartMs: number;
  firstRunMs: number;
  times: number[];
  peakRssMb: number;
  inputs: string[];
  /** The input shape used: the request's, with the export's static dims where it has them. */
  input: number[];
  /** vitkit: whether the session came from the optimized-model cache. */
  fromCache?: boolean;
}

interface SessionLike {
  inputNames: readonly string[];
  inputMetadata?: readonly { name: string; isTensor?: boolean; shape?: readonly (number | string)[] }[];
}

/** Fixture exports were traced at a fixed size (static H, W): take those over the request's. */
function resolveInput(session: SessionLike | undefined, wanted: number[]): number[] {
  const meta = session?.inputMetadata?.find((m) => m.name === 'pixel_values');
  if (!meta?.shape || meta.shape.length !== wanted.length) return wanted;
  return wanted.map((d, i) => (typeof meta.shape![i] === 'number' && (meta.shape![i] as number) > 0 ? (meta.shape![i] as number) : d));
}

/** `f`'s result and how long it took. */
async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const value = await f();
  return [value, performance.now() - t];
}

/** The first run (allocation, kernel or shader set-up) timed apart from `runs` warm ones. */
async function timeRuns(run: () => Promise<unknown>, runs: number): Promise<{ firstRunMs: number; times: number[] }> {
  const [, firstRunMs] = await timed(run);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push((await timed(run))[1]);
  return { firstRunMs, times };
}

/** A result with this process's peak RSS, read once every run is done. */
function result(
  times: { importMs: number; coldStartMs: number; firstRunMs: number; times: number[] },
  rest: Pick<BaselineResult, 'inputs' | 'input' | 'fromCache'>,
): BaselineResult {
  return { ...times, peakRssMb: process.resourceUsage().maxRSS / 1024, ...rest };
}

async function onnxruntime(req: BaselineRequest): Promise<BaselineResult> {
  const [ort, importMs] = await timed(() => import('onnxruntime-node'));
  const t0 = performance.now();
  // The best session options: every core, every graph optimization.
  const session = await ort.InferenceSession.create(join(req.folder, 'onnx', 'model.onnx'), {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: cpus().length,
  });
  const coldStartMs = performance.now() - t0;
  const input = resolveInput(session as unknown as SessionLike, req.input);
  const [b, , h, w] = input;
  const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
  for (const name of session.inputNames) {
    if (name === 'pixel_values') feeds[name] = new ort.Tensor('float32', randomInput(input.reduce((x, y) => x * y, 1)), input);
    else if (name === 'pixel_mask') feeds[name] = new ort.Tensor('int64', new BigInt64Array(b * h * w).fill(1n), [b, h, w]);
    else throw new Error(`${req.folder}: unexpected model input "${name}"`);
  }
  const runs = await timeRuns(() => session.run(feeds), req.runs);
  await session.release();
  return result({ importMs, coldStartMs, ...runs }, { inputs: [...session.inputNames], input });
}

async function transformersJs(req: BaselineRequest): Promise<BaselineResult> {
  const [{ AutoModel, env, Tensor }, importMs] = await timed(() => import('@huggingface/transformers'));
  const folder = resolve(req.folder);
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = `${dirname(folder)}/`;
  const external = existsSync(join(folder, 'onnx', 'model.onnx_data'));
  const t0 = performance.now();
  // transformers.js defaults: no session options (as its users run it).
  const model = await AutoModel.from_pretrained(basename(folder), {
    device: 'cpu',
    dtype: 'fp32',
    ...(external ? { use_external_data_format: true } : {}),
  });
  const coldStartMs = performance.now() - t0;
  const session = (model as unknown as { sessions?: Record<string, SessionLike> }).sessions?.model;
  const input = resolveInput(session, req.input);
  const pixels = new Tensor('float32', randomInput(input.reduce((x, y) => x * y, 1)), input);
  const runs = await timeRuns(() => model({ pixel_values: pixels }), req.runs);
  await model.dispose();
  return result({ importMs, coldStartMs, ...runs }, { inputs: [...(session?.inputNames ?? ['pixel_values'])], input });
}

async function vitkit(req: BaselineRequest): Promise<BaselineResult> {
  // @vitkit/models, the package a user installs for every family: its import (all families) is timed.
  const [[core, models], importMs] = await timed(() => Promise.all([import('@vitkit/core'), import('@vitkit/models')]));
  const [b, , h, w] = req.input;
  const t0 = performance.now();
  const model = models.AutoModel.fromFiles(await core.loadPretrained(req.folder), {
    device: 'cpu',
    optimizedModelCache: req.optimizedModelCache ?? false,
  });
  const { fromCache } = await model.warmup(h, w);
  const coldStartMs = performance.now() - t0;
  const pixels = new core.Tensor('float32', randomInput(b * 3 * h * w), req.input);
  const runs = await timeRuns(() => model.run({ pixel_values: pixels }), req.runs);
  await model.dispose();
  return result({ importMs, coldStartMs, ...runs }, { inputs: ['pixel_values'], input: req.input, fromCache });
}

process.once('message', async (req: BaselineRequest) => {
  try {
    const result =
      req.runner === 'onnxruntime' ? await onnxruntime(req) : req.runner === 'vitkit' ? await vitkit(req) : await transformersJs(req);
    process.send?.({ ok: true, result });
  } catch (error) {
    process.send?.({ ok: false, error: String((error as Error)?.stack ?? error) });
  }
  process.disconnect?.();
});
