// The worker side: one model per worker, loaded and run on request from `ModelWorker`.
import {
  type ClassifyOptions,
  type Device,
  type ForwardOptions,
  loadPretrained,
  type ModelDtype,
  type ModelLoadEvent,
  type ModelOptions,
  type PretrainedFiles,
  type PretrainedOptions,
  pretrainedFromBytes,
  readId2Label,
  type VisionModel,
  VitkitError,
} from '@vitkit/core/internal';
import { type DetectOptions, Detr, type SegmentOptions } from '@vitkit/detr';
import { type DinoInput, DinoModel } from '@vitkit/dino';
import { type GroundedDetectOptions, GroundingDino, type GroundingPrompts } from '@vitkit/grounding-dino';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { findFamily } from '../auto-model.js';
import {
  errorToWire,
  imageFromWire,
  rgbToWire,
  TransferList,
  tensorsFromWire,
  tensorsToWire,
  tensorToWire,
  type WireImage,
  type WireRgbImage,
  type WireTensor,
  withTransfer,
} from './wire.js';

/** What a loaded model can do through the worker, by the family's methods. */
export type ModelWorkerMethod = 'run' | 'embed' | 'classify' | 'detect' | 'detectPrompted' | 'segment' | 'pcaImage' | 'attentionMaps';

/** `AutoModel` options and `loadPretrained` options, less the callbacks (progress comes through `onProgress`). */
export interface WorkerLoadOptions extends Omit<ModelOptions, 'onLoadProgress'>, Omit<PretrainedOptions, 'onProgress'> {
  /**
   * Build the graph and create the session for this [height, width] during `load` (default: the
   * checkpoint processor's input size), so the first call runs at once; `false` leaves it to the first call.
   */
  warmup?: readonly [number, number] | false;
}

/** Progress of `load`: each file's download (Hub ids, URLs), then the graph build and the session creation. */
export type WorkerLoadProgress = { stage: 'download'; file: string; loaded: number; total?: number } | ModelLoadEvent;

/** A loaded model, as the worker describes it. */
export interface LoadedModelInfo {
  /** config.json's class, e.g. 'Dinov2Model'. */
  architecture: string;
  /** The family that built it, e.g. 'dino'. */
  family: string;
  device: Device;
  dtype: ModelDtype;
  /** [height, width] the checkpoint's processor produces. */
  inputSize: [number, number];
  methods: ModelWorkerMethod[];
  /** config.json's id2label, for classifiers and detectors. */
  labels?: Record<number, string>;
  /** The warm-up session came from a compiled-graph cache (no graph built); false without warm-up. */
  fromCache: boolean;
  /** Milliseconds `load` took in the worker (download, graph, session). */
  loadMs: number;
}

/** Checkpoint files already at hand (a picked folder, dropped files): by name, as Blobs/Files or bytes. */
export interface CheckpointFiles {
  files: Record<string, Blob | ArrayBuffer | Uint8Array>;
  /** Names the checkpoint in errors (default 'local files'). */
  name?: string;
}

/** What `load` is given: a Hub id, a URL (or, in Node, a folder path), or the files themselves. */
export type CheckpointSource = string | CheckpointFiles;

/** Last-layer attention from the worker: per-head maps, the view, and every overlay already drawn. */
export interface WireAttentionMaps {
  maps: WireTensor;
  gridH: number;
  gridW: number;
  view: WireRgbImage;
  /** Mean of all heads over the view. */
  overlay: WireRgbImage;
  /** One per head. */
  headOverlays: WireRgbImage[];
}

/** The RPC surface `ModelWorker` calls. Internal: its wire types are not the public ones. */
export interface ModelWorkerApi {
  load(source: CheckpointSource, options: WorkerLoadOptions, onProgress?: (p: WorkerLoadProgress) => void): Promise<LoadedModelInfo>;
  run(inputs: Record<string, WireTensor>, options: ForwardOptions): Promise<Record<string, WireTensor>>;
  embed(image: WireImage | WireImage[]): Promise<Record<string, WireTensor>>;
  classify(image: WireImage | WireImage[], options: Omit<ClassifyOptions, 'load'>): Promise<unknown>;
  detect(images: WireImage | WireImage[], options: DetectOptions): Promise<unknown>;
  detectPrompted(images: WireImage | WireImage[], prompt: GroundingPrompts, options: GroundedDetectOptions): Promise<unknown>;
  segment(images: WireImage | WireImage[], options: SegmentOptions): Promise<unknown>;
  pcaImage(image: WireImage): Promise<WireRgbImage>;
  attentionMaps(image: WireImage): Promise<WireAttentionMaps>;
  dispose(): Promise<void>;
}

/** A message port of either kind: a Web Worker's `self`/`MessagePort`, or Node's `parentPort`. */
export type WorkerPort = Comlink.Endpoint | NodePort;

/** What Node's worker_threads ports have (`parentPort`, `Worker`). */
export interface NodePort {
  postMessage(message: unknown, transfer?: readonly unknown[]): void;
  on(event: 'message', listener: (data: unknown) => void): unknown;
  off(event: 'message', listener: (data: unknown) => void): unknown;
  start?: () => void;
}

export function isNodePort(port: unknown): port is NodePort {
  return typeof (port as NodePort).on === 'function' && typeof (port as NodePort).off === 'function';
}

/** A Comlink endpoint for either kind of port (Node's through Comlink's node adapter). */
export function toEndpoint(port: WorkerPort): Comlink.Endpoint {
  return isNodePort(port) ? nodeEndpoint(port as Parameters<typeof nodeEndpoint>[0]) : port;
}

/**
 * Serves one model from inside a worker: call it in the worker's script. In a Web Worker it
 * listens on `self`; in a Node worker thread on `worker_threads.parentPort`; or on `port` when given.
 * Import onnxruntime-web (and set `env.wasm.wasmPaths`: on `onnxruntime-web/wasm`, the build the
 * wasm device runs on, and on `onnxruntime-web` for webgpu) in the same script if the app serves
 * its wasm files from somewhere other than beside the bundle. Bundle onnxruntime-web's
 * extern-wasm build into the worker (resolve condition `onnxruntime-web-use-extern-wasm`): its
 * default build inlines the wasm glue, and its wasm threads then start from the worker's own
 * script, where session creation never finished in Chromium.
 */
export function exposeModelWorker(port?: WorkerPort): void {
  Comlink.expose(createModelWorkerApi(), toEndpoint(port ?? defaultPort()));
}

function defaultPort(): WorkerPort {
  const g = globalThis as { process?: { versions?: { node?: string }; getBuiltinModule?: (id: string) => unknown } };
  if (g.process?.versions?.node) {
    // Node ≥ 20.16 hands out built-ins without an import statement a browser bundler would follow.
    const threads = g.process.getBuiltinModule?.('node:worker_threads') as { parentPort?: NodePort | null } | undefined;
    if (threads?.parentPort) return threads.parentPort;
    throw new VitkitError(
      'INVALID_ARGUMENT',
      threads
        ? 'exposeModelWorker() runs inside a worker thread: call it in the script given to new Worker(...).'
        : 'This Node has no process.getBuiltinModule (added in 20.16): pass worker_threads.parentPort to exposeModelWorker().',
    );
  }
  const self = globalThis as unknown as Partial<Comlink.Endpoint>;
  if (typeof self.postMessage !== 'function' || typeof self.addEventListener !== 'function') {
    throw new VitkitError('INVALID_ARGUMENT', 'exposeModelWorker() runs inside a Web Worker: call it in the worker script.');
  }
  return self as Comlink.Endpoint;
}

/** The object served: each method's VitkitErrors are sent as plain fields so their code survives. */
export function createModelWorkerApi(): ModelWorkerApi {
  let model: VisionModel | undefined;
  let loading = 0; // the latest load wins; an earlier one that finishes later is dropped

  const current = (): VisionModel => {
    if (!model) throw new VitkitError('INVALID_ARGUMENT', 'No model is loaded in this worker: call load() first.');
    return model;
  };
  // The loaded model as the class a method needs (MODEL_TYPE_UNSUPPORTED naming what it offers otherwise).
  const loadedAs = <T extends VisionModel>(kind: abstract new (...args: never[]) => T, method: string): T => {
    const m = current();
    if (!(m instanceof kind)) throw unsupported(m, method);
    return m;
  };
  // Checked by the model's own method: a Tensor is pixel_values where the method takes one.
  const images = (w: WireImage | WireImage[]) => (Array.isArray(w) ? w.map(imageFromWire) : imageFromWire(w)) as DinoInput;

  const api: ModelWorkerApi = {
    async load(source, options, sendProgress) {
      const ticket = ++loading;
      const start = performance.now();
      // Each event is a message to the caller; load answers only once all have arrived there.
      const delivered: Promise<unknown>[] = [];
      // The model keeps its callback for sessions made later (other input sizes): those go unreported.
      let reporting = true;
      const onProgress =
        sendProgress &&
        ((p: WorkerLoadProgress) => {
          if (!reporting) return;
          try {
            delivered.push(Promise.resolve(sendProgress(p)).catch(() => undefined));
          } catch {
            // a caller that went away: progress is not worth failing the load for
          }
        });
      try {
        const { warmup, ...rest } = options;
        const files = await readCheckpoint(source, rest, onProgress);
        const family = findFamily(files.config);
        const loaded = family.create(files, { ...rest, onLoadProgress: onProgress });
        const inputSize = family.defaultInputSize(files.config, files.preprocessorConfig);
        let fromCache = false;
        try {
          if (warmup !== false) ({ fromCache } = await loaded.warmup(...(warmup ?? inputSize)));
        } catch (error) {
          await loaded.dispose();
          throw error;
        }
        if (ticket !== loading) {
          await loaded.dispose();
          throw new VitkitError('INVALID_ARGUMENT', 'A later load() replaced this one before it finished.');
        }
        const previous = model;
        model = loaded;
        await previous?.dispose();
        await Promise.all(delivered);
        const labels = readId2Label(files.config);
        return {
          architecture: loaded.architecture,
          family: family.name,
          device: loaded.device,
          dtype: loaded.options.dtype,
          inputSize,
          methods: methodsOf(loaded),
          labels: labels ? Object.fromEntries(labels) : undefined,
          fromCache,
          loadMs: performance.now() - start,
        };
      } finally {
        // The callback's port would otherwise stay open (and keep a Node process alive).
        reporting = false;
        await Promise.all(delivered);
        (sendProgress as Partial<Comlink.Remote<unknown>> | undefined)?.[Comlink.releaseProxy]?.();
      }
    },
    async run(inputs, options) {
      const out = await current().run(tensorsFromWire(inputs), options);
      return sendTensors(out);
    },
    async embed(image) {
      const { cls, patches, pooled, registers } = await loadedAs(DinoModel, 'embed').embed(images(image));
      return sendTensors({ cls, patches, pooled, registers });
    },
    async classify(image, options) {
      return current().classify(images(image), options);
    },
    async detect(input, options) {
      return loadedAs(Detr, 'detect').detect(images(input) as Parameters<Detr['detect']>[0], options);
    },
    async detectPrompted(input, prompt, options) {
      return loadedAs(GroundingDino, 'detectPrompted').detect(images(input) as Parameters<GroundingDino['detect']>[0], prompt, options);
    },
    async segment(input, options) {
      const result = await loadedAs(Detr, 'segment').segment(images(input) as Parameters<Detr['segment']>[0], options);
      const transfer = new TransferList();
      const wire = result.map((r) => ({ ...r, segmentation: tensorToWire(r.segmentation, transfer) }));
      return withTransfer(wire, transfer.buffers);
    },
    async pcaImage(image) {
      const transfer = new TransferList();
      const wire = rgbToWire(await loadedAs(DinoModel, 'pcaImage').pcaImage(imageFromWire(image)), transfer);
      return withTransfer(wire, transfer.buffers);
    },
    async attentionMaps(image) {
      const a = await loadedAs(DinoModel, 'attentionMaps').attentionMaps(imageFromWire(image));
      const transfer = new TransferList();
      const heads = a.maps.shape[0];
      const wire: WireAttentionMaps = {
        maps: tensorToWire(a.maps, transfer),
        gridH: a.gridH,
        gridW: a.gridW,
        view: rgbToWire(a.view, transfer),
        overlay: rgbToWire(a.overlay(), transfer),
        headOverlays: Array.from({ length: heads }, (_, h) => rgbToWire(a.overlay(h), transfer)),
      };
      return withTransfer(wire, transfer.buffers);
    },
    async dispose() {
      const m = model;
      model = undefined;
      await m?.dispose();
    },
  };
  // Every method, with its VitkitError sent as plain fields.
  for (const name of Object.keys(api) as (keyof ModelWorkerApi)[]) {
    const method = api[name] as (...args: unknown[]) => Promise<unknown>;
    (api as unknown as Record<string, unknown>)[name] = async (...args: unknown[]) => {
      try {
        return await method(...args);
      } catch (error) {
        throw errorToWire(error);
      }
    };
  }
  return api;
}

function sendTensors(tensors: Record<string, Parameters<typeof tensorToWire>[0] | undefined>): Record<string, WireTensor> {
  const transfer = new TransferList();
  return withTransfer(tensorsToWire(tensors, transfer), transfer.buffers);
}

async function readCheckpoint(
  source: CheckpointSource,
  options: Omit<PretrainedOptions, 'onProgress'>,
  onProgress: ((p: WorkerLoadProgress) => void) | undefined,
): Promise<PretrainedFiles> {
  if (typeof source === 'string') {
    return loadPretrained(source, { ...options, onProgress: onProgress && ((p) => onProgress({ stage: 'download', ...p })) });
  }
  if (typeof source !== 'object' || source === null || typeof source.files !== 'object' || source.files === null) {
    throw new VitkitError('INVALID_ARGUMENT', 'load() takes a Hub id, a URL, a folder path (Node) or { files: { "config.json": …, … } }.');
  }
  const bytes: Record<string, Uint8Array> = {};
  for (const [name, file] of Object.entries(source.files)) {
    if (file instanceof Uint8Array) bytes[name] = file;
    else if (file instanceof ArrayBuffer) bytes[name] = new Uint8Array(file);
    else if (typeof Blob !== 'undefined' && file instanceof Blob) bytes[name] = new Uint8Array(await file.arrayBuffer());
    else throw new VitkitError('INVALID_ARGUMENT', `load(): "${name}" must be a Blob/File, ArrayBuffer or Uint8Array.`);
  }
  return pretrainedFromBytes(bytes, source.name ?? 'local files');
}

function methodsOf(model: VisionModel): ModelWorkerMethod[] {
  const methods: ModelWorkerMethod[] = ['run'];
  if (model.hasClassifier) methods.push('classify');
  if (model instanceof DinoModel) {
    if (!model.hasClassifier) methods.push('embed', 'pcaImage');
    methods.push('attentionMaps');
  }
  if (model instanceof Detr) {
    methods.push('detect');
    if (model.spec.maskHead) methods.push('segment');
  }
  if (model instanceof GroundingDino) methods.push('detectPrompted');
  return methods;
}

function unsupported(model: VisionModel, method: string): VitkitError {
  return new VitkitError(
    'MODEL_TYPE_UNSUPPORTED',
    `${model.architecture} has no ${method}(); through the worker it offers ${methodsOf(model).join(', ')}.`,
  );
}
