// The page side (or Node's main thread): typed calls into a worker that runs `exposeModelWorker()`.
import {
  type Classification,
  type ForwardOptions,
  type ImageSource,
  type ModelInputs,
  type RgbImage,
  type Tensor,
  VitkitError,
} from '@vitkit/core';
import type { DetectOptions, DetrDetection, DetrImageSegmentation, SegmentOptions } from '@vitkit/detr';
import type { DinoEmbeddings } from '@vitkit/dino';
import type { GroundedDetectOptions, GroundingDinoDetection, GroundingPrompts } from '@vitkit/grounding-dino';
import * as Comlink from 'comlink';
import {
  type CheckpointSource,
  isNodePort,
  type LoadedModelInfo,
  type ModelWorkerApi,
  type NodePort,
  toEndpoint,
  type WorkerLoadOptions,
  type WorkerLoadProgress,
} from './expose-model-worker.js';
import {
  errorFromWire,
  imageToWire,
  rgbFromWire,
  TransferList,
  tensorFromWire,
  tensorsFromWire,
  tensorsToWire,
  type WireImage,
  type WireTensor,
  withTransfer,
} from './wire.js';

/** A Web Worker (or anything with its message and error events). */
export interface WebWorkerLike extends Comlink.Endpoint {
  addEventListener(type: string, listener: (event: unknown) => void): void;
  terminate?(): void;
}

/** A Node worker_threads `Worker`. */
export interface NodeWorkerLike extends NodePort {
  on(event: string, listener: (...args: never[]) => void): unknown;
  off(event: string, listener: (...args: never[]) => void): unknown;
  terminate?(): Promise<number>;
}

export type WorkerLike = WebWorkerLike | NodeWorkerLike;

/** An image, or pixel_values [B, 3, H, W] already preprocessed. */
export type WorkerImage = ImageSource | Tensor;

export interface WorkerCallOptions {
  /**
   * Move pixel buffers (ArrayBuffer, Uint8Array, pixel data, RgbImage, Tensor data) to the worker
   * instead of copying them (default true): they are then detached on this side, length 0. A view
   * on part of a larger buffer is copied out first, so the rest of that buffer stays usable.
   */
  transfer?: boolean;
}

export interface WorkerLoadCallOptions extends WorkerLoadOptions {
  onProgress?: (progress: WorkerLoadProgress) => void;
}

/** DINO's last-layer attention, with every overlay drawn in the worker. */
export interface WorkerAttentionMaps {
  /** [heads, h, w]: each head's attention from CLS to every patch. */
  maps: Tensor<'float32'>;
  gridH: number;
  gridW: number;
  /** The image as the model saw it (after resize and crop). */
  view: RgbImage;
  /** Heat map of the mean of all heads over `view`. */
  overlay: RgbImage;
  /** Heat map of each head over `view`. */
  headOverlays: RgbImage[];
}

export type { CheckpointFiles, CheckpointSource, LoadedModelInfo, ModelWorkerMethod } from './expose-model-worker.js';

/**
 * Runs a model in a worker: the calls of `AutoModel`'s models, each a message to the worker and
 * back, with pixel buffers and output tensors transferred, not copied. VitkitErrors thrown in the
 * worker arrive with their `code`; a worker that fails (its script cannot load, it crashes, it
 * exits) fails every pending and later call with WORKER_FAILED instead of leaving them waiting.
 */
export class ModelWorker {
  private readonly remote: Comlink.Remote<ModelWorkerApi>;
  private failure: VitkitError | undefined;
  private readonly failed: Promise<never>;
  private readonly worker: WorkerLike;
  private readonly inFlight = new Set<Promise<unknown>>();
  private closing: Promise<void> | undefined;

  constructor(worker: WorkerLike) {
    this.worker = worker;
    this.remote = Comlink.wrap<ModelWorkerApi>(toEndpoint(worker));
    let fail: (error: VitkitError) => void = () => undefined;
    this.failed = new Promise<never>((_, reject) => {
      fail = (error) => {
        this.failure ??= error;
        reject(this.failure);
      };
    });
    this.failed.catch(() => undefined); // observed through each call
    const describe = (e: unknown) => (e as { message?: string })?.message ?? String(e);
    if (isNodePort(worker) && !('addEventListener' in worker)) {
      const node = worker as NodeWorkerLike;
      node.on('error', ((e: unknown) => fail(new VitkitError('WORKER_FAILED', `The model worker failed: ${describe(e)}`))) as never);
      node.on('exit', ((code: number) => fail(new VitkitError('WORKER_FAILED', `The model worker exited (code ${code}).`))) as never);
    } else {
      const web = worker as WebWorkerLike;
      web.addEventListener('error', (e) => {
        const message = (e as { message?: string }).message;
        fail(
          new VitkitError(
            'WORKER_FAILED',
            `The model worker failed${message ? `: ${message}` : ' (its script did not load: check its URL, and that it is served as JavaScript)'}.`,
          ),
        );
      });
      web.addEventListener('messageerror', () =>
        fail(new VitkitError('WORKER_FAILED', 'A message from the model worker could not be read.')),
      );
    }
  }

  /** Loads a checkpoint in the worker (replacing any model there), by default building its session too. */
  async load(source: CheckpointSource, options: WorkerLoadCallOptions = {}): Promise<LoadedModelInfo> {
    const { onProgress, ...rest } = options;
    let files = source;
    const transfer = new TransferList();
    if (typeof source === 'object' && source !== null && typeof source.files === 'object' && source.files !== null) {
      // Blobs and Files travel as references; raw bytes move.
      const moved: Record<string, Blob | ArrayBuffer | Uint8Array> = {};
      for (const [name, f] of Object.entries(source.files)) {
        moved[name] = f instanceof Uint8Array ? transfer.take(f) : f;
        if (f instanceof ArrayBuffer && f.byteLength > 0) transfer.buffers.push(f);
      }
      files = { ...source, files: moved };
    }
    return this.call((api) => api.load(withTransfer(files, transfer.buffers), rest, onProgress ? Comlink.proxy(onProgress) : undefined));
  }

  /** `model.run` in the worker: named input tensors in, Hugging Face-named outputs back. */
  async run(inputs: ModelInputs, options: ForwardOptions & WorkerCallOptions = {}): Promise<Record<string, Tensor>> {
    const { transfer: move = true, ...forward } = options;
    const transfer = move ? new TransferList() : undefined;
    const wire = tensorsToWire(inputs, transfer);
    return tensorsFromWire(await this.call((api) => api.run(withTransfer(wire, transfer?.buffers), forward)));
  }

  /** DINO: CLS, patch (on their grid), pooled and register embeddings. */
  async embed(images: WorkerImage | WorkerImage[], options: WorkerCallOptions = {}): Promise<DinoEmbeddings> {
    const out = tensorsFromWire(await this.withImages(images, options, (api, w) => api.embed(w)));
    return out as unknown as DinoEmbeddings;
  }

  /** Classifiers: top classes per image. */
  async classify(images: WorkerImage | WorkerImage[], options: WorkerCallOptions & { topK?: number } = {}): Promise<Classification[][]> {
    const { transfer, ...rest } = options;
    return (await this.withImages(images, { transfer }, (api, w) => api.classify(w, rest))) as Classification[][];
  }

  /** DETR: detections per image, boxes in the image's pixels. */
  async detect(images: ImageSource | ImageSource[], options: DetectOptions & WorkerCallOptions = {}): Promise<DetrDetection[][]> {
    const { transfer, ...rest } = options;
    return (await this.withImages(images, { transfer }, (api, w) => api.detect(w, rest))) as DetrDetection[][];
  }

  /** Grounding DINO: what the prompt names in each image (`'a cat. a remote control.'` or phrases), boxes in its pixels. */
  async detectPrompted(
    images: ImageSource | ImageSource[],
    prompt: GroundingPrompts,
    options: GroundedDetectOptions & WorkerCallOptions = {},
  ): Promise<GroundingDinoDetection[][]> {
    const { transfer, ...rest } = options;
    return (await this.withImages(images, { transfer }, (api, w) => api.detectPrompted(w, prompt, rest))) as GroundingDinoDetection[][];
  }

  /** DETR segmentation checkpoints: panoptic, semantic or instance maps per image. */
  async segment(images: ImageSource | ImageSource[], options: SegmentOptions & WorkerCallOptions = {}): Promise<DetrImageSegmentation[]> {
    const { transfer, ...rest } = options;
    const out = (await this.withImages(images, { transfer }, (api, w) => api.segment(w, rest))) as (Omit<
      DetrImageSegmentation,
      'segmentation'
    > & { segmentation: WireTensor })[];
    return out.map((r) => ({ ...r, segmentation: tensorFromWire(r.segmentation) as Tensor<'int32'> }));
  }

  /** DINO: the first three principal components of the patch features as an RGB picture. */
  async pcaImage(image: WorkerImage, options: WorkerCallOptions = {}): Promise<RgbImage> {
    return rgbFromWire(await this.withImages(image, options, (api, w) => api.pcaImage(w as WireImage)));
  }

  /** DINO: last-layer CLS→patch attention per head, with the overlays drawn. */
  async attentionMaps(image: WorkerImage, options: WorkerCallOptions = {}): Promise<WorkerAttentionMaps> {
    const a = await this.withImages(image, options, (api, w) => api.attentionMaps(w as WireImage));
    return {
      maps: tensorFromWire(a.maps) as Tensor<'float32'>,
      gridH: a.gridH,
      gridW: a.gridW,
      view: rgbFromWire(a.view),
      overlay: rgbFromWire(a.overlay),
      headOverlays: a.headOverlays.map(rgbFromWire),
    };
  }

  /** Releases the worker's model (its sessions); the worker stays up for another `load`. */
  async dispose(): Promise<void> {
    await this.call((api) => api.dispose());
  }

  /**
   * Waits for the calls in flight, releases the worker's model and closes this side's channel;
   * later calls fail. The worker itself keeps running (see `terminate`).
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled([...this.inFlight]);
      if (!this.failure) await Promise.race([this.remote.dispose(), this.failed]).catch(() => undefined);
      this.remote[Comlink.releaseProxy]();
    })();
    return this.closing;
  }

  /**
   * `close`, then terminates the worker. In Node use this (or `close` first) rather than
   * `worker.terminate()` alone: terminating a worker thread while onnxruntime-node is inside a run
   * aborts the whole process (onnxruntime-node 1.30, Node 20: "terminate called after throwing an
   * instance of 'Napi::Error'").
   */
  async terminate(): Promise<void> {
    await this.close();
    await this.worker.terminate?.();
  }

  private async withImages<R>(
    images: WorkerImage | WorkerImage[],
    options: WorkerCallOptions,
    call: (api: Comlink.Remote<ModelWorkerApi>, wire: WireImage | WireImage[]) => Promise<R>,
  ): Promise<R> {
    const transfer = options.transfer === false ? undefined : new TransferList();
    const wire = Array.isArray(images) ? images.map((i) => imageToWire(i, transfer)) : imageToWire(images, transfer);
    return this.call((api) => call(api, withTransfer(wire, transfer?.buffers)));
  }

  private async call<R>(send: (api: Comlink.Remote<ModelWorkerApi>) => Promise<R>): Promise<R> {
    if (this.failure) throw this.failure;
    if (this.closing) throw new VitkitError('INVALID_ARGUMENT', 'This ModelWorker was closed; connect a new one to the worker.');
    const pending = Promise.race([send(this.remote), this.failed]);
    this.inFlight.add(pending);
    try {
      return await pending;
    } catch (error) {
      if ((error as Error)?.name === 'DataCloneError') {
        throw new VitkitError(
          'INVALID_ARGUMENT',
          `The call's arguments could not be sent to the model worker (${(error as Error).message}): a buffer already transferred is detached; pass a copy, or { transfer: false } to the earlier call.`,
          { cause: error },
        );
      }
      throw errorFromWire(error);
    } finally {
      this.inFlight.delete(pending);
    }
  }
}

/** A `ModelWorker` over a Web Worker or a Node worker thread whose script calls `exposeModelWorker()`. */
export function connectModelWorker(worker: WorkerLike): ModelWorker {
  return new ModelWorker(worker);
}
