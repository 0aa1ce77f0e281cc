import { VitkitError } from '@vitkit/core';
import {
  type EmbedBatch,
  type EmbedImagesOptions,
  embedImages,
  type FailedImage,
  loadEmbedder,
  PIPELINE_MODEL_OPTIONS,
} from './embed-images.js';
import { ImageIndex } from './image-index.js';
import { NpyImageStore } from './npy-store.js';
import { ParquetImageStore } from './parquet-store.js';

export interface BuildIndexOptions extends Omit<EmbedImagesOptions, 'skip'> {
  /** The index folder (created if missing; resumed if present). */
  out: string;
  /**
   * `lance` (default): a LanceDB table, searchable; `npy`: cls.npy, pooled.npy and rows.jsonl;
   * `parquet`: part-*.parquet files (path, hash, model, dtype, cls, pooled).
   */
  format?: 'lance' | 'npy' | 'parquet';
  /** Called after every batch (a progress bar). */
  onProgress?: (batch: EmbedBatch) => void;
  /** Row count from which an ANN index is built (default `ANN_MIN_ROWS`). */
  annMinRows?: number;
}

export interface BuildIndexSummary {
  total: number;
  embedded: number;
  /** Already in the index (same content hash, same model): not embedded again. */
  skipped: number;
  failed: FailedImage[];
  /** Rows in the index afterwards. */
  rows: number;
  annIndex: boolean;
  seconds: number;
  /** Images embedded per second of this run. */
  imagesPerSecond: number;
  /** Whether the run stopped early (signal); what was embedded is stored, and re-running continues. */
  stopped: boolean;
}

/**
 * Embeds a source into an image index, resumably: images whose content hash the index already
 * holds are skipped, every batch is stored before the next is taken, and a stop (signal) stores
 * what was embedded. The loop a distributed worker runs per shard (pass the shard's paths).
 */
export async function buildImageIndex(source: string | string[], options: BuildIndexOptions): Promise<BuildIndexSummary> {
  const started = performance.now();
  if (options.patches && options.format !== undefined && options.format !== 'lance') {
    throw new VitkitError(
      'INVALID_ARGUMENT',
      `Patch features are stored in a LanceDB index only; --format ${options.format} keeps CLS and pooled vectors.`,
    );
  }
  const model =
    typeof options.model === 'string'
      ? await loadEmbedder(options.model, { ...PIPELINE_MODEL_OPTIONS, ...options.modelOptions })
      : options.model;
  const modelId = typeof options.model === 'string' ? options.model : model.files.source;
  // Part of the index's identity: vectors of int8 weights are not those of fp32 ones.
  const precision = model.options.dtype;
  const summary = { total: 0, embedded: 0, skipped: 0, failed: [] as FailedImage[] };
  let index: ImageIndex | NpyImageStore | ParquetImageStore | undefined;
  try {
    index =
      options.format === 'npy'
        ? NpyImageStore.open(options.out, modelId, precision)
        : options.format === 'parquet'
          ? await ParquetImageStore.open(options.out, modelId, precision)
          : await ImageIndex.open(options.out, { modelId, precision, create: true });
    const stored = await index.storedHashes();
    for await (const batch of embedImages(source, { ...options, model, skip: (hash) => stored.has(hash) })) {
      await index.add(batch.embedded);
      // One file twice in a run (a copy under another name) is stored once.
      for (const e of batch.embedded) stored.add(e.hash);
      summary.total = batch.total;
      summary.embedded += batch.embedded.length;
      summary.skipped += batch.skipped;
      summary.failed.push(...batch.failed);
      options.onProgress?.(batch);
    }
    const { rows, annIndex } = await index.finish({ annMinRows: options.annMinRows });
    const seconds = (performance.now() - started) / 1000;
    return {
      ...summary,
      rows,
      annIndex,
      seconds,
      imagesPerSecond: summary.embedded / seconds,
      stopped: options.signal?.aborted === true,
    };
  } finally {
    // Whatever happened, the batches already embedded are committed.
    await index?.flush().catch(() => {});
    index?.close();
    if (typeof options.model === 'string') await model.dispose();
  }
}
