// Shared by the two library pages (library-vitkit-page.ts, library-tjs-page.ts): what the runner asks
// a page and what it answers. Each library is bundled on its own page, with its own onnxruntime-web,
// and loaded in a fresh browser, so its cold start, wasm start-up and peak memory are its own.

export interface LibraryPageRequest {
  /**
   * vitkit: the checkpoint's base URL (Hub layout: `<origin>/<repo>/resolve/main`);
   * transformers.js: the export's folder name under `env.localModelPath` (`/models/`).
   */
  model: string;
  /** vitkit: 'fp32' | 'int8'; transformers.js: 'fp32' | 'q8'. */
  dtype: string;
  /** [1, 3, H, W] */
  input: number[];
  runs: number;
  /** wasm threads; absent: the library's default. */
  threads?: number;
  /** transformers.js: the fp32 export keeps its weights in onnx/model.onnx_data. */
  externalData?: boolean;
  /**
   * vitkit: false loads through `AutoModel.fromFiles(await loadPretrained(url))`, the path without
   * fromPretrained's runtime start-up beside the download (to measure what that start-up saves).
   */
  prepareRuntime?: boolean;
  /** Send back the main output's values (to compare precisions). */
  keepOutput?: boolean;
  /** vitkit: onnxruntime's graph optimization level; absent: vitkit's default. */
  graphOptimization?: 'disabled' | 'basic' | 'extended' | 'all';
}

export interface LibraryPageResult {
  /** Load → ready: vitkit's fromPretrained + warmup (fetch, graph build, session); transformers.js's from_pretrained. */
  coldStartMs: number;
  /** vitkit: fromPretrained alone (config + safetensors fetched and parsed). */
  loadMs?: number;
  firstRunMs: number;
  times: number[];
  /** onnxruntime-web's env.wasm.numThreads once the session exists (what it ran on). */
  threads?: number;
  crossOriginIsolated: boolean;
  outputName?: string;
  output?: number[];
  /** vitkit: whether the session came from a cache (no graph built this load). */
  fromCache?: boolean;
  /** vitkit: the graph build and the session creation inside the cold start (onLoadProgress's ms). */
  graphBuildMs?: number;
  sessionCreateMs?: number;
}

/** The first run timed apart from `runs` warm ones. */
export async function timeRuns(run: () => Promise<unknown>, runs: number): Promise<{ firstRunMs: number; times: number[] }> {
  let t = performance.now();
  await run();
  const firstRunMs = performance.now() - t;
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    t = performance.now();
    await run();
    times.push(performance.now() - t);
  }
  return { firstRunMs, times };
}

export function exposeBench(bench: (req: LibraryPageRequest) => Promise<LibraryPageResult>): void {
  (globalThis as unknown as { vitkitBench: typeof bench }).vitkitBench = bench;
  (globalThis as unknown as { vitkitReady: boolean }).vitkitReady = true;
}
