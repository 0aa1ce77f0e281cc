import type { ModelOptions, PretrainedOptions, VisionModel } from '@vitkit/core';
import { Tensor, VitkitError } from '@vitkit/core';
import type { DinoEmbeddings, DinoInput } from '@vitkit/dino';
import { AutoModel } from '@vitkit/models';
import { readAndHash } from './decode-image.js';
import { createDecodePool, type DecodePool } from './decode-pool.js';
import { discoverImages } from './discover-images.js';

/** A model that embeds (any registered family with `embed`, e.g. DINO, DINOv2). */
export interface Embedder extends VisionModel {
  embed(input: DinoInput): Promise<DinoEmbeddings>;
}

export interface EmbedImagesOptions {
  /** A loaded model (kept open) or a Hub id / local folder (loaded with `modelOptions`, disposed at the end). */
  model: Embedder | string;
  modelOptions?: ModelOptions & PretrainedOptions;
  /** Images per model call (default 16). */
  batchSize?: number;
  /** Decode worker threads (default: cores - 1, at least 1); 0 decodes in the calling thread. */
  decodeWorkers?: number;
  /** Images whose content hash this returns true for are not decoded or embedded (a resumed run's stored rows). */
  skip?: (hash: string, path: string) => boolean;
  /** Also return each image's patch features ([h, w, C], large: off by default). */
  patches?: boolean;
  /** Stops after the batch in flight; every batch already yielded stays yielded. */
  signal?: AbortSignal;
}

export interface EmbeddedImage {
  path: string;
  /** sha256 of the file's bytes (hex). */
  hash: string;
  /** [C]: the CLS token after the final layer norm. */
  cls: Float32Array;
  /** [C]: `pooler_output`, when the model has one. */
  pooled?: Float32Array;
  /** [gridH * gridW * C], with `patchGrid`, when `patches` was asked for. */
  patches?: Float32Array;
  patchGrid?: [number, number];
}

export interface FailedImage {
  path: string;
  /** A VitkitError code (IMAGE_UNDECODABLE, IMAGE_TOO_LARGE, …) or the file system's (ENOENT, EACCES, EISDIR). */
  code: string;
  message: string;
}

/** One model call's worth of progress. */
export interface EmbedBatch {
  embedded: EmbeddedImage[];
  /** Images that could not be read or decoded since the previous batch (never fatal). */
  failed: FailedImage[];
  /** Images skipped (already stored) since the previous batch. */
  skipped: number;
  /** Images dealt with so far (embedded, failed or skipped) out of `total`. */
  done: number;
  total: number;
  /** The model's id (as given, or the loaded model's source), the same in every batch. */
  modelId: string;
}

type Prepared =
  | { kind: 'ready'; path: string; hash: string; pixels: Float32Array; shape: [number, number, number] }
  | { kind: 'skipped' }
  | { kind: 'failed'; failure: FailedImage };

const DEFAULT_BATCH = 16;

/**
 * How a model loaded by id is set up for the pipeline: onnxruntime's idle threads sleep instead of
 * spin-waiting, so decode workers get the cores between ops (the bench measured 213 vs 232 CPU ms
 * per image end to end with dinov2-small, model alone 185).
 */
export const PIPELINE_MODEL_OPTIONS: ModelOptions = { spinning: false };

/**
 * Embeds every image a source names (folder, glob or .txt list; see `discoverImages`), in batches.
 * Reading and hashing happen in the calling thread (I/O off-thread, hashing native), decoding and
 * preprocessing in worker threads, the model on onnxruntime's own threads: while one batch runs,
 * the next is decoded. At most two batches of decoded pixels are held at once, so memory stays
 * flat however many images there are. Images are batched with others of the same preprocessed
 * size (all of them, for processors that crop).
 */
export async function* embedImages(source: string | string[], options: EmbedImagesOptions): AsyncGenerator<EmbedBatch> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new VitkitError('INVALID_ARGUMENT', `batchSize must be a positive integer, got ${batchSize}.`);
  const paths = Array.isArray(source) ? source : await discoverImages(source);
  const owned = typeof options.model === 'string';
  const model =
    typeof options.model === 'string'
      ? await loadEmbedder(options.model, { ...PIPELINE_MODEL_OPTIONS, ...options.modelOptions })
      : options.model;
  let pool: DecodePool | undefined;
  try {
    const config = model.files.preprocessorConfig ?? { image_processor_type: model.imageProcessor.type };
    pool = createDecodePool(config, options.decodeWorkers);
    const decoder = pool;
    const modelId = typeof options.model === 'string' ? options.model : model.files.source;

    const prepare = async (path: string): Promise<Prepared> => {
      let read: { bytes: Uint8Array; hash: string };
      try {
        read = await readAndHash(path);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? 'FILE_UNREADABLE';
        return { kind: 'failed', failure: { path, code, message: error instanceof Error ? error.message : String(error) } };
      }
      if (options.skip?.(read.hash, path)) return { kind: 'skipped' };
      const decoded = await decoder.decode(read.bytes);
      if (!decoded.ok) return { kind: 'failed', failure: { path, code: decoded.code, message: decoded.message } };
      return { kind: 'ready', path, hash: read.hash, pixels: decoded.pixels, shape: decoded.shape };
    };

    // Back-pressure: decoding runs at most two batches ahead of the model.
    const window = 2 * batchSize;
    const inFlight: Promise<Prepared>[] = [];
    let next = 0;
    const refill = () => {
      while (inFlight.length < window && next < paths.length) inFlight.push(prepare(paths[next++]));
    };
    const buckets = new Map<string, Extract<Prepared, { kind: 'ready' }>[]>();
    let failed: FailedImage[] = [];
    let skipped = 0;
    let done = 0;
    const progress = (embedded: EmbeddedImage[]): EmbedBatch => {
      const batch = { embedded, failed, skipped, done, total: paths.length, modelId };
      failed = [];
      skipped = 0;
      return batch;
    };

    refill();
    while (inFlight.length > 0 && !options.signal?.aborted) {
      const item = await (inFlight.shift() as Promise<Prepared>);
      refill();
      if (item.kind !== 'ready') {
        done++;
        if (item.kind === 'failed') failed.push(item.failure);
        else skipped++;
        continue;
      }
      const key = item.shape.join('x');
      const bucket = buckets.get(key) ?? [];
      bucket.push(item);
      buckets.set(key, bucket);
      if (bucket.length === batchSize) {
        buckets.delete(key);
        const embedded = await embedBatch(model, bucket, options.patches === true);
        done += bucket.length;
        yield progress(embedded);
      }
    }
    // Stopped early: images still being decoded are dropped (a resumed run does them), the decoded ones are embedded.
    if (options.signal?.aborted) await Promise.allSettled(inFlight);
    for (const bucket of buckets.values()) {
      const embedded = await embedBatch(model, bucket, options.patches === true);
      done += bucket.length;
      yield progress(embedded);
    }
    if (failed.length > 0 || skipped > 0 || paths.length === 0) yield progress([]);
  } finally {
    await pool?.close();
    if (owned) await model.dispose();
  }
}

async function embedBatch(model: Embedder, items: Extract<Prepared, { kind: 'ready' }>[], withPatches: boolean): Promise<EmbeddedImage[]> {
  const [c, h, w] = items[0].shape;
  const size = c * h * w;
  const pixels = new Float32Array(items.length * size);
  items.forEach((item, i) => pixels.set(item.pixels, i * size));
  const e = await model.embed(new Tensor('float32', pixels, [items.length, c, h, w]));
  const dim = e.cls.shape[1];
  const [, gridH, gridW] = e.patches.shape;
  const patchSize = gridH * gridW * dim;
  return items.map((item, i) => ({
    path: item.path,
    hash: item.hash,
    cls: e.cls.data.slice(i * dim, (i + 1) * dim),
    ...(e.pooled ? { pooled: e.pooled.data.slice(i * dim, (i + 1) * dim) } : {}),
    ...(withPatches
      ? { patches: e.patches.data.slice(i * patchSize, (i + 1) * patchSize), patchGrid: [gridH, gridW] as [number, number] }
      : {}),
  }));
}

/** Loads any registered checkpoint and checks that it embeds. */
export async function loadEmbedder(idOrPath: string, options: ModelOptions & PretrainedOptions = {}): Promise<Embedder> {
  const model = await AutoModel.fromPretrained(idOrPath, options);
  if (typeof (model as unknown as Record<string, unknown>).embed !== 'function') {
    await model.dispose();
    throw new VitkitError(
      'MODEL_TYPE_UNSUPPORTED',
      `${idOrPath} (${model.architecture}) has no embed(): use an embedding model such as DINOv2.`,
    );
  }
  return model as Embedder;
}
