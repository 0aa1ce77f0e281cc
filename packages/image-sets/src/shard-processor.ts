// BullMQ's sandboxed processor: runs in a child process of `runShardWorker`, one shard a job.
import type { SandboxedJob } from 'bullmq';
import { type Embedder, loadEmbedder, PIPELINE_MODEL_OPTIONS } from './embed-images.js';
import type { ShardJob } from './shard-queue.js';
import { type ShardResult, writeShard } from './shard-store.js';

// The worker that forked this process is gone (killed): stop too, its shard's lock lapses and another worker redoes it.
// It may have died while this module was still loading, before the listener existed: `connected` is then already false
// (it is undefined in a process that was not forked).
process.on('disconnect', () => process.exit(1));
if (process.connected === false) process.exit(1);

// Kept between jobs: the child process serves one shard after another with the same model.
let loaded: { id: string; model: Embedder } | undefined;

export default async function embedShard(job: SandboxedJob<ShardJob, ShardResult>): Promise<ShardResult> {
  const { model, shardsDir, shardId, paths, batchSize } = job.data;
  if (loaded?.id !== model) {
    await loaded?.model.dispose();
    loaded = undefined;
    loaded = { id: model, model: await loadEmbedder(model, PIPELINE_MODEL_OPTIONS) };
  }
  let done = 0;
  return writeShard(shardsDir, shardId, paths, {
    model: loaded.model,
    batchSize,
    onProgress: (b) => {
      done = b.done;
      void job.updateProgress(Math.round((100 * done) / Math.max(1, b.total)));
    },
  });
}
