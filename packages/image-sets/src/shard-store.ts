import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { VitkitError } from '@vitkit/core';
import { type BuildIndexOptions, buildImageIndex } from './build-index.js';
import type { FailedImage } from './embed-images.js';
import { ImageIndex } from './image-index.js';
import { NpyImageStore } from './npy-store.js';

/** What one embedded shard reports (a BullMQ job's return value). */
export interface ShardResult {
  shardId: string;
  embedded: number;
  failed: FailedImage[];
  seconds: number;
}

// A shard is written under this prefix and renamed to its id only once complete.
const PARTIAL = '.partial-';

/**
 * Embeds one shard's images into `<shardsDir>/<shardId>/` (an npy store), atomically: the rows
 * are written to a temporary folder beside it, which is renamed into place when complete. A
 * worker killed mid-shard leaves only a temporary folder (ignored by `mergeShards`); a shard
 * embedded twice (its first worker was presumed dead) replaces its own folder, never adds to it.
 */
export async function writeShard(
  shardsDir: string,
  shardId: string,
  paths: string[],
  options: Omit<BuildIndexOptions, 'out' | 'format' | 'patches'>,
): Promise<ShardResult> {
  const partial = join(shardsDir, `${PARTIAL}${shardId}-${process.pid}-${Date.now()}`);
  try {
    const summary = await buildImageIndex(paths, { ...options, out: partial, format: 'npy' });
    if (summary.stopped) throw new VitkitError('INVALID_ARGUMENT', `shard ${shardId} was stopped before it was complete.`);
    const target = join(shardsDir, shardId);
    rmSync(target, { recursive: true, force: true });
    try {
      renameSync(partial, target);
    } catch (error) {
      // Another worker put the same shard in place in between: the same images, the same rows.
      if (!existsSync(target)) throw error;
    }
    return { shardId, embedded: summary.embedded, failed: summary.failed, seconds: summary.seconds };
  } finally {
    rmSync(partial, { recursive: true, force: true });
  }
}

/** Complete shards in a folder (temporary folders of shards in progress or killed are left out). */
export function completeShards(shardsDir: string): string[] {
  if (!existsSync(shardsDir)) return [];
  return readdirSync(shardsDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith(PARTIAL))
    .map((e) => e.name)
    .sort();
}

export interface MergeSummary {
  shards: number;
  /** Rows added to the index. */
  added: number;
  /** Rows whose content hash the index already held (a shard merged before, or a copy). */
  duplicates: number;
  rows: number;
  annIndex: boolean;
}

/**
 * Folds every complete shard in `shardsDir` into the image index at `out`, one row per content
 * hash: rows already in the index are left out, so merging again, or merging a shard embedded
 * twice, adds nothing. The shards' model must be the index's (`INDEX_MODEL_MISMATCH` otherwise).
 */
export async function mergeShards(shardsDir: string, out: string, options: { annMinRows?: number } = {}): Promise<MergeSummary> {
  const shards = completeShards(shardsDir);
  if (shards.length === 0) {
    throw new VitkitError(
      'FILE_NOT_FOUND',
      `No complete shards in ${shardsDir}: run \`vitkit worker\` until \`vitkit queue status\` shows them done.`,
    );
  }
  let index: ImageIndex | undefined;
  const summary = { shards: shards.length, added: 0, duplicates: 0 };
  try {
    let stored = new Set<string>();
    for (const shard of shards) {
      const { modelId, precision, rows } = NpyImageStore.read(join(shardsDir, shard));
      if (rows.length === 0) continue;
      if (!index) {
        index = await ImageIndex.open(out, { modelId, precision, create: true });
        stored = await index.storedHashes();
      } else if (modelId !== index.modelId || precision !== index.precision) {
        throw new VitkitError(
          'INDEX_MODEL_MISMATCH',
          `${shard} holds ${precision} ${modelId} embeddings, not ${index.precision} ${index.modelId}: one shards folder holds one model.`,
        );
      }
      const fresh = rows.filter((r) => !stored.has(r.hash));
      for (const r of fresh) stored.add(r.hash);
      summary.duplicates += rows.length - fresh.length;
      summary.added += fresh.length;
      await index.add(fresh);
    }
    const finished = index ? await index.finish(options) : { rows: 0, annIndex: false };
    return { ...summary, ...finished };
  } finally {
    index?.close();
  }
}
