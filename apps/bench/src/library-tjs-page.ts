// transformers.js in the page, as its users run it: from_pretrained on the export folder served at
// /models/<name>/ (no session options: its defaults), then the model called on pixel_values. Its
// onnxruntime-web (its own version) is served locally at /ort-tjs/, the build it would fetch from its CDN.
import { AutoModel, env, Tensor } from '@huggingface/transformers';
import { exposeBench, type LibraryPageRequest, type LibraryPageResult, timeRuns } from './library-page.js';
import { randomInput } from './random-input.js';

async function bench(req: LibraryPageRequest): Promise<LibraryPageResult> {
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = '/models/';
  // Its Cache API copies are for remote files; a first visit here pays none.
  env.useBrowserCache = false;
  const wasm = env.backends.onnx.wasm as { wasmPaths?: unknown; numThreads?: number };
  // The same asyncify build its default CDN path names, served locally (nothing outside 127.0.0.1).
  wasm.wasmPaths = { mjs: '/ort-tjs/ort-wasm-simd-threaded.asyncify.mjs', wasm: '/ort-tjs/ort-wasm-simd-threaded.asyncify.wasm' };
  if (req.threads) wasm.numThreads = req.threads;
  const t0 = performance.now();
  const model = await AutoModel.from_pretrained(req.model, {
    device: 'wasm',
    dtype: req.dtype as 'fp32' | 'q8',
    ...(req.externalData ? { use_external_data_format: true } : {}),
  });
  const coldStartMs = performance.now() - t0;
  const pixels = new Tensor('float32', randomInput(req.input.reduce((a, b) => a * b, 1)), req.input);
  let last: Record<string, { data: unknown }> = {};
  const runs = await timeRuns(async () => {
    last = (await model({ pixel_values: pixels })) as Record<string, { data: unknown }>;
  }, req.runs);
  const outputName = Object.keys(last)[0];
  const output = req.keepOutput ? Array.from(last[outputName].data as Float32Array) : undefined;
  await model.dispose();
  return { coldStartMs, ...runs, threads: wasm.numThreads, crossOriginIsolated, outputName, output };
}

exposeBench(bench);
