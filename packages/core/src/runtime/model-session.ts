import * as platform from '#platform';
import { loadOnnxRuntime } from '#platform';
import { VitkitError } from '../errors/vitkit-error.js';
import { layoutExternalData } from '../graph/external-data.js';
import { encodeModel, type GraphParts, initializerBytes } from '../graph/graph-parts.js';
import { onnx } from '../graph/onnx-proto.js';
import type { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import type { BrowserRuntime } from './browser-graph-cache.js';
import type { Device } from './device.js';
import type { ExternalModelFiles, NodeRuntime } from './node-runtime.js';
import type { OrtModule, OrtSession, OrtSessionOptions, OrtTensor } from './onnxruntime-api.js';

// Node-only helpers (threads, on-disk cache) exist only on the Node side of '#platform'. Read by a
// computed key so bundlers for the browser, whose '#platform' lacks the export, neither warn nor fail.
const NODE_RUNTIME_EXPORT = 'nodeRuntime';
const nodeRuntime = (platform as Record<string, unknown>)[NODE_RUNTIME_EXPORT] as NodeRuntime | undefined;
// And the browser's compiled-graph cache (Cache API) only on the browser side.
const BROWSER_RUNTIME_EXPORT = 'browserRuntime';
const browserRuntime = (platform as Record<string, unknown>)[BROWSER_RUNTIME_EXPORT] as BrowserRuntime | undefined;

export interface SessionOptions {
  /** Defaults to 'cpu' in Node and 'wasm' in browsers. */
  device?: Device;
  /** Intra-op threads for cpu (default: every core, os.availableParallelism() in Node) and wasm (default: 1 in Node). */
  threads?: number;
  /** cpu: false makes onnxruntime's idle threads sleep rather than spin-wait between ops (default: spin). */
  spinning?: boolean;
  /** onnxruntime graph optimization level (default 'all'). */
  graphOptimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Write onnxruntime's JSON profile with this file prefix. */
  profilePrefix?: string;
  /** Save the optimized graph here (cpu), to inspect node placement and fusions. */
  optimizedModelPath?: string;
  /**
   * Node, cpu: keep onnxruntime's optimized graph on disk (its weights in a file onnxruntime
   * memory-maps) and load it on the next cold start instead of optimizing again. `true` uses
   * `$VITKIT_CACHE/optimized` (default ~/.cache/vitkit/optimized); a string names the folder. Keyed
   * by `cacheKey` (else the graph bytes), the onnxruntime version, the optimization level and the
   * CPU. Ignored elsewhere.
   */
  optimizedModelCache?: boolean | string;
  /**
   * Names the graph without its bytes (checkpoint identity, input size, precision, versions), so a
   * cache hit skips building the graph: `create` then calls its model thunk only on a miss.
   */
  cacheKey?: string;
  /**
   * Browsers (wasm, webgpu): keep the graph vitkit built in the Cache API, keyed by `cacheKey` (the
   * checkpoint's fingerprint from its files' ETags, the input size, precision, kernel) and the vitkit
   * version, so a later page load skips building it. Off unless true or a cache name (default
   * 'vitkit-graphs'): measured on dinov2-small (wasm, 2 cores) it saves the ~150 ms build but reading
   * and checking the 82 MB entry costs ~390 ms, and writing it ~1 s on the first load; it lowers
   * the second load's renderer peak by ~35-130 MB. Needs `cacheKey`.
   */
  graphCache?: boolean | string;
  /** onnxruntime log severity (0 verbose … 4 fatal); default 3. */
  logSeverity?: 0 | 1 | 2 | 3 | 4;
  /**
   * Node (cpu, webgpu, cuda), a model given as graph parts: when its weights weigh more than this many
   * bytes (default 1 GiB), the session is created from `model.onnx` + `model.data` (ONNX external
   * data) written to a private temporary folder and removed once onnxruntime has loaded them, instead
   * of from one protobuf (which cannot reach 2 GiB, and is one more copy of every weight).
   */
  externalDataThreshold?: number;
  /** Told when onnxruntime starts loading the graph and when the session is ready (see `ModelLoadEvent`). */
  onSessionProgress?: (
    event: { stage: 'session'; state: 'start' } | { stage: 'session'; state: 'done'; ms: number; fromCache: boolean },
  ) => void;
}

/** What a session is created from: ONNX bytes, or a graph's parts (encoded inline or as external data). */
export type ModelSource = Uint8Array | GraphParts;

const DEFAULT_EXTERNAL_DATA_THRESHOLD = 2 ** 30;

/** The name the external data file has in the layout hashed for the optimized-model cache key. */
const EXTERNAL_DATA_FILE = 'model.data';

export function defaultDevice(): Device {
  return typeof process !== 'undefined' && process.versions?.node ? 'cpu' : 'wasm';
}

/** One onnxruntime session over a graph vitkit built, taking and returning vitkit Tensors. */
export class ModelSession {
  private constructor(
    private readonly ort: OrtModule,
    private session: OrtSession | undefined,
    readonly device: Device,
    /** Whether this session came from the optimized-model cache rather than a graph built this time. */
    readonly fromCache = false,
  ) {}

  /** `model` may be a thunk, so a cache hit (see `cacheKey`) never builds the graph. */
  static async create(model: ModelSource | (() => ModelSource), options: SessionOptions = {}): Promise<ModelSession> {
    const device = options.device ?? defaultDevice();
    const ort = await loadOnnxRuntime(device);
    checkProviderInstalled(ort, device);
    if (device === 'wasm' && options.threads && ort.env.wasm) ort.env.wasm.numThreads = options.threads;
    const sessionOptions: OrtSessionOptions = {
      executionProviders: [device === 'wasm' ? 'wasm' : device],
      graphOptimizationLevel: options.graphOptimization ?? 'all',
      logSeverityLevel: options.logSeverity ?? 3,
    };
    if (device === 'cpu') sessionOptions.intraOpNumThreads = options.threads ?? availableCores();
    // onnxruntime's session config keys (session.intra_op.allow_spinning), strings as it takes them.
    if (device === 'cpu' && options.spinning === false) sessionOptions.extra = { session: { intra_op: { allow_spinning: '0' } } };
    if (options.profilePrefix) {
      sessionOptions.enableProfiling = true;
      sessionOptions.profileFilePrefix = options.profilePrefix;
    }
    if (options.optimizedModelPath) sessionOptions.optimizedModelFilePath = options.optimizedModelPath;
    let resolved = typeof model === 'function' ? undefined : model;
    const source = (): ModelSource => {
      resolved ??= (model as () => ModelSource)();
      return resolved;
    };
    const external = nodeRuntime && device !== 'wasm' ? nodeRuntime : undefined;
    const threshold = options.externalDataThreshold ?? DEFAULT_EXTERNAL_DATA_THRESHOLD;
    const cache =
      options.optimizedModelCache && device === 'cpu' && nodeRuntime && !options.optimizedModelPath
        ? nodeRuntime.optimizedModel(
            {
              graph: options.cacheKey ?? null,
              ort: ort.env.versions ?? null,
              device,
              level: sessionOptions.graphOptimizationLevel,
            },
            options.cacheKey === undefined ? cacheKeyBytes(source()) : undefined,
            typeof options.optimizedModelCache === 'string' ? options.optimizedModelCache : undefined,
          )
        : undefined;
    if (cache?.cachedPath) {
      // Optimized (and laid out for this CPU) by this onnxruntime already: load it as is; onnxruntime
      // memory-maps its weights file.
      try {
        const session = await reportSession(options, true, () =>
          ort.InferenceSession.create(cache.cachedPath as string, { ...sessionOptions, graphOptimizationLevel: 'disabled' }),
        );
        return new ModelSession(ort, session, device, true);
      } catch {
        cache.discard(); // a stale or damaged entry: build the graph and write it again
      }
    }
    if (cache) {
      cache.beginWrite();
      sessionOptions.optimizedModelFilePath = cache.writePath;
      sessionOptions.extra = { session: cache.writeConfig };
    }
    const graphCache =
      browserRuntime && options.cacheKey !== undefined && options.graphCache && (device === 'wasm' || device === 'webgpu')
        ? await browserRuntime.graphCacheEntry(
            { graph: options.cacheKey, device },
            typeof options.graphCache === 'string' ? options.graphCache : undefined,
          )
        : undefined;
    const stored = await graphCache?.read();
    if (stored) {
      try {
        const session = await reportSession(options, true, () => ort.InferenceSession.create(stored, sessionOptions));
        return new ModelSession(ort, session, device, true);
      } catch {
        await graphCache?.discard(); // onnxruntime refused it: build the graph and store it again
      }
    }
    let graph: ModelSource | undefined = source();
    let toCache: GraphParts | undefined;
    let files: ExternalModelFiles | undefined;
    try {
      let input: Uint8Array | string;
      if (graph instanceof Uint8Array) input = graph;
      else if (external && initializerBytes(graph) > threshold) {
        files = writeExternalModel(external, graph);
        input = files.modelPath;
        // The weights are on disk now. Drop their JS copy before onnxruntime reads its own, so a large
        // model peaks at about one copy of its weights instead of two (see collectGarbage).
        graph = resolved = undefined;
        external.collectGarbage();
      } else if (!external) {
        // onnxruntime-web: each weight reaches onnxruntime as its own external data "file", mounted
        // from the weight's own bytes (no copy), and read straight into its tensor in the wasm heap.
        // Inline, the same bytes were copied into one protobuf in JS, then into the heap, then parsed
        // (a copy each): in Chromium that was 120-250 MB more peak memory than transformers.js.
        const mounted = mountedExternalData(graph);
        input = encodeModel(mounted.parts);
        sessionOptions.externalData = mounted.files;
        // The graph cache stores one protobuf with the weights inline: encoded once the session exists.
        if (graphCache) toCache = graph;
        graph = resolved = undefined;
      } else input = encodeModel(graph);
      const session = await reportSession(options, false, () => ort.InferenceSession.create(input, sessionOptions));
      if (graphCache && sessionOptions.externalData && toCache) await graphCache.write(encodeModel(toCache));
      else if (graphCache && input instanceof Uint8Array) await graphCache.write(input);
      try {
        cache?.commit();
      } catch {
        cache?.abandon(); // the cache is an optimization; a failed write never fails the session
      }
      return new ModelSession(ort, session, device);
    } catch (cause) {
      cache?.abandon();
      throw sessionError(device, cause);
    } finally {
      // onnxruntime has read (or memory-mapped: the mapping outlives the file's name) what it needs.
      files?.remove();
    }
  }

  get inputNames(): readonly string[] {
    return this.live().inputNames;
  }

  get outputNames(): readonly string[] {
    return this.live().outputNames;
  }

  async run(feeds: Record<string, Tensor>, outputNames?: readonly string[]): Promise<Record<string, Tensor>> {
    const session = this.live();
    const ortFeeds: Record<string, OrtTensor> = {};
    for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = new this.ort.Tensor(t.dtype, t.data, t.shape);
    let results: Record<string, OrtTensor>;
    try {
      results = await session.run(ortFeeds);
    } catch (cause) {
      const f16 = float16Unsupported(this.device, cause);
      if (f16) throw f16;
      throw new VitkitError('RUN_FAILED', `onnxruntime (${this.device}) failed to run the model: ${(cause as Error)?.message ?? cause}`, {
        cause,
      });
    }
    const out: Record<string, Tensor> = {};
    for (const name of outputNames ?? session.outputNames) {
      const r = results[name];
      out[name] = new Tensor(r.type as DType, r.data as never, r.dims);
    }
    return out;
  }

  /** Ends onnxruntime's profiling (it writes the profile file named by `profilePrefix`), if profiling was on. */
  endProfiling(): void {
    this.live().endProfiling?.();
  }

  async dispose(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    await s?.release();
  }

  private live(): OrtSession {
    if (!this.session) throw new VitkitError('INVALID_ARGUMENT', 'This model session was disposed.');
    return this.session;
  }
}

/** Runs onnxruntime's session creation between the `session` start and done events. */
async function reportSession(options: SessionOptions, fromCache: boolean, create: () => Promise<OrtSession>): Promise<OrtSession> {
  const report = options.onSessionProgress;
  const start = performance.now();
  report?.({ stage: 'session', state: 'start' });
  const session = await create();
  report?.({ stage: 'session', state: 'done', ms: performance.now() - start, fromCache });
  return session;
}

function writeExternalModel(runtime: NodeRuntime, graph: GraphParts): ExternalModelFiles {
  try {
    return runtime.writeExternalModel(graph);
  } catch (cause) {
    throw new VitkitError(
      'SESSION_FAILED',
      `Could not write the model's weights as external data to the temporary folder (${(cause as Error)?.message ?? cause}): free space in os.tmpdir() or point TMPDIR elsewhere.`,
      { cause },
    );
  }
}

let identityModel: Uint8Array | undefined;

/** The smallest model onnxruntime takes (y = Identity(x)): a session on it starts the backend. */
function startupModel(): Uint8Array {
  const value = (name: string) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }] } } } });
  identityModel ??= onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 13 }],
      graph: { name: 'startup', node: [{ opType: 'Identity', input: ['x'], output: ['y'] }], input: [value('x')], output: [value('y')] },
    }),
  ).finish();
  return identityModel;
}

let started: Promise<void> | undefined;

/**
 * Browsers, wasm: starts onnxruntime-web's backend (fetching and compiling its .wasm, starting its
 * threads) with a one-node session, so that work overlaps the checkpoint's download and the graph
 * build instead of following them (`fromPretrained` calls it beside `loadPretrained`). The threads
 * must be the model's: onnxruntime-web fixes them when its backend starts. Never throws: a backend
 * that cannot start fails the model's own session, with its own message.
 */
export function prepareRuntime(options: { device?: Device; threads?: number } = {}): Promise<void> {
  const device = options.device ?? defaultDevice();
  if (device !== 'wasm' || nodeRuntime) return Promise.resolve();
  started ??= (async () => {
    const ort = await loadOnnxRuntime(device);
    if (options.threads && ort.env.wasm) ort.env.wasm.numThreads = options.threads;
    const session = await ort.InferenceSession.create(startupModel(), { executionProviders: ['wasm'], logSeverityLevel: 3 });
    await session.release();
  })().catch(() => {
    started = undefined;
  });
  return started;
}

/** Weights this large and up go to onnxruntime-web as external data (as onnx's convert_model_to_external_data). */
const MOUNTED_MIN_BYTES = 1024;

/** The graph with each large initializer in an external "file" of its own (`w<i>`), and those files' bytes (views, not copies). */
export function mountedExternalData(graph: GraphParts): { parts: GraphParts; files: { path: string; data: Uint8Array }[] } {
  const files: { path: string; data: Uint8Array }[] = [];
  const initializer = graph.initializer.map((t) => {
    const raw = t.rawData as Uint8Array | undefined;
    if (!raw || raw.byteLength < MOUNTED_MIN_BYTES) return t;
    const path = `w${files.length}`;
    files.push({ path, data: raw });
    const { rawData: _inline, ...rest } = t;
    return {
      ...rest,
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: path },
        { key: 'offset', value: '0' },
        { key: 'length', value: String(raw.byteLength) },
      ],
    };
  });
  return { parts: { ...graph, initializer }, files };
}

/** What names a graph given without a cacheKey: its bytes, or for parts its small graph and each weight in turn (never one buffer). */
function cacheKeyBytes(model: ModelSource): Uint8Array | Uint8Array[] {
  if (model instanceof Uint8Array) return model;
  const layout = layoutExternalData(model, { location: EXTERNAL_DATA_FILE });
  return [encodeModel(layout.parts), ...layout.slices.map((s) => s.data)];
}

/** Node: os.availableParallelism() (Node 20 has no navigator); browsers: navigator.hardwareConcurrency. */
function availableCores(): number {
  if (nodeRuntime) return nodeRuntime.availableCores();
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  return nav?.hardwareConcurrency ?? 1;
}

/** WebGPU adapters without the shader-f16 feature (SwiftShader, some mobile GPUs) cannot run fp16 graphs. */
function float16Unsupported(device: Device, cause: unknown): VitkitError | undefined {
  const message = (cause as Error)?.message ?? String(cause);
  if (device !== 'webgpu' || !/requires f16 but the device does not support it/.test(message)) return undefined;
  return new VitkitError(
    'BACKEND_UNAVAILABLE',
    `This WebGPU adapter has no shader-f16 support, which dtype "fp16" needs; use dtype "fp32" on it (${message}).`,
    { cause },
  );
}

function checkProviderInstalled(ort: OrtModule, device: Device): void {
  if (device !== 'cuda' || !ort.listSupportedBackends) return;
  const cuda = ort.listSupportedBackends().find((b) => b.name === 'cuda');
  if (!cuda?.bundled) {
    // The npm tarball has no CUDA provider; its postinstall downloads one (needs network and CUDA 12).
    throw new VitkitError(
      'BACKEND_UNAVAILABLE',
      'The "cuda" device needs onnxruntime-node\'s CUDA provider, which is not installed: reinstall onnxruntime-node with its install script enabled on a machine with CUDA (see onnxruntime-node\'s README), or use "cpu"/"webgpu".',
    );
  }
}

function sessionError(device: Device, cause: unknown): VitkitError {
  if (cause instanceof VitkitError) return cause;
  const f16 = float16Unsupported(device, cause);
  if (f16) return f16;
  const message = (cause as Error)?.message ?? String(cause);
  if (device === 'webgpu' && /adapter|webgpu|dawn|vulkan/i.test(message)) {
    return new VitkitError(
      'BACKEND_UNAVAILABLE',
      `No WebGPU adapter is available to onnxruntime (${message}). On a machine without a GPU, install Chromium's SwiftShader and set VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json.`,
      { cause },
    );
  }
  return new VitkitError('SESSION_FAILED', `onnxruntime (${device}) could not load the graph: ${message}`, { cause });
}
