// vitkit's library path in the page, as a user calls it: AutoModel.fromPretrained(url) fetches
// config.json and model.safetensors from the local Hub-layout server, warmup builds the graph in the
// page and creates the onnxruntime-web session (vitkit's defaults: threads, optimization), then runs.
import { loadPretrained, type ModelLoadEvent, Tensor } from '@vitkit/core';
import { AutoModel } from '@vitkit/models';
import * as ort from 'onnxruntime-web/wasm';
import { exposeBench, type LibraryPageRequest, type LibraryPageResult, timeRuns } from './library-page.js';
import { randomInput } from './random-input.js';

async function bench(req: LibraryPageRequest): Promise<LibraryPageResult> {
  ort.env.wasm.wasmPaths = '/ort/';
  const [, , h, w] = req.input;
  const t0 = performance.now();
  const phases: { graphBuildMs?: number; sessionCreateMs?: number } = {};
  const options = {
    device: 'wasm' as const,
    dtype: req.dtype as 'fp32' | 'int8',
    ...(req.threads ? { threads: req.threads } : {}),
    ...(req.graphOptimization ? { graphOptimization: req.graphOptimization } : {}),
    onLoadProgress: (e: ModelLoadEvent) => {
      if (e.state !== 'done') return;
      if (e.stage === 'graph') phases.graphBuildMs = e.ms;
      else phases.sessionCreateMs = e.ms;
    },
  };
  const model =
    req.prepareRuntime === false
      ? AutoModel.fromFiles(await loadPretrained(req.model), options)
      : await AutoModel.fromPretrained(req.model, options);
  const loadMs = performance.now() - t0;
  const { fromCache } = await model.warmup(h, w);
  const coldStartMs = performance.now() - t0;
  const pixels = new Tensor('float32', randomInput(req.input.reduce((a, b) => a * b, 1)), req.input);
  let last: Record<string, Tensor> = {};
  const runs = await timeRuns(async () => {
    last = await model.run({ pixel_values: pixels });
  }, req.runs);
  const outputName = Object.keys(last)[0];
  const output = req.keepOutput ? Array.from(last[outputName].data as Float32Array) : undefined;
  await model.dispose();
  return { coldStartMs, loadMs, ...runs, threads: ort.env.wasm.numThreads, crossOriginIsolated, outputName, output, fromCache, ...phases };
}

exposeBench(bench);
