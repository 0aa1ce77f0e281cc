import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VitkitError } from '@vitkit/core';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { discoverImages } from './discover-images.js';
import type { ShardResult } from './shard-store.js';

/** The queue `vitkit queue add` fills and `vitkit worker` drains, unless named otherwise. */
export const DEFAULT_QUEUE = 'vitkit-embed';
const DEFAULT_SHARD_SIZE = 256;
/** Jobs read per Redis round trip by `queueStatus`. */
const STATUS_PAGE = 500;

/** A shard: the images one job embeds, and where its rows go. */
export interface ShardJob {
  shardId: string;
  /** A Hub id or a checkpoint folder every worker can read (absolute). */
  model: string;
  /** The shared folder shards are written to (`<shardsDir>/<shardId>/`). */
  shardsDir: string;
  paths: string[];
  batchSize?: number;
}

export interface QueueConnection {
  /** `redis://host:port[/db]`. */
  redis: string;
  /** Queue name (default `vitkit-embed`). */
  queue?: string;
}

function connect(url: string, forWorker: boolean): Redis {
  // Workers block on Redis and must never give up a command (BullMQ requires null there).
  const client = new Redis(url, { maxRetriesPerRequest: forWorker ? null : 3, lazyConnect: true, enableOfflineQueue: forWorker });
  client.on('error', () => {}); // connection errors surface through the first command instead
  return client;
}

async function reachable(client: Redis, url: string): Promise<void> {
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    client.disconnect();
    throw new VitkitError('QUEUE_UNREACHABLE', `Cannot reach Redis at ${url}: start redis-server there, or pass another --redis <url>.`, {
      cause: error,
    });
  }
}

/** Job ids from the shard's content, so adding the same folder twice adds no job twice. */
function shardId(model: string, paths: string[]): string {
  return `shard-${createHash('sha256')
    .update(`${model}\0${paths.join('\n')}`)
    .digest('hex')
    .slice(0, 20)}`;
}

export interface EnqueueOptions extends QueueConnection {
  model: string;
  shardsDir: string;
  /** Images per shard (default 256). */
  shardSize?: number;
  batchSize?: number;
  /** Tries per shard before it is marked failed (default 5), with exponential backoff from `backoffMs` (default 2000). */
  attempts?: number;
  backoffMs?: number;
}

/**
 * Splits a source (folder, glob, .txt list) into shards of `shardSize` images and adds one job
 * per shard. Job ids come from the model and the shard's paths: adding again adds nothing that is
 * queued, running or done.
 */
export async function enqueueShards(source: string, options: EnqueueOptions): Promise<{ images: number; shards: number; added: number }> {
  const size = options.shardSize ?? DEFAULT_SHARD_SIZE;
  if (!Number.isInteger(size) || size < 1) throw new VitkitError('INVALID_ARGUMENT', `shardSize must be a positive integer, got ${size}.`);
  const paths = await discoverImages(source);
  const shardsDir = resolve(options.shardsDir);
  mkdirSync(shardsDir, { recursive: true });
  const client = connect(options.redis, false);
  await reachable(client, options.redis);
  const queue = new Queue<ShardJob, ShardResult>(options.queue ?? DEFAULT_QUEUE, { connection: client });
  try {
    const jobs = [];
    let added = 0;
    for (let i = 0; i < paths.length; i += size) {
      const shard = paths.slice(i, i + size);
      const id = shardId(options.model, shard);
      if (!(await queue.getJob(id))) added++;
      jobs.push({
        name: 'embed',
        data: {
          shardId: id,
          model: options.model,
          shardsDir,
          paths: shard,
          ...(options.batchSize ? { batchSize: options.batchSize } : {}),
        },
        opts: {
          jobId: id,
          attempts: options.attempts ?? 5,
          backoff: { type: 'exponential', delay: options.backoffMs ?? 2000 },
        },
      });
    }
    // BullMQ ignores a job whose id exists (waiting, active, done or failed).
    await queue.addBulk(jobs);
    return { images: paths.length, shards: jobs.length, added };
  } finally {
    await queue.close();
    client.disconnect();
  }
}

export interface ShardWorkerOptions extends QueueConnection {
  /** Shown in the queue as the job's holder (default: host and pid). */
  name?: string;
  /** Shards embedded at once, each in its own process (default 1: one model already uses every core). */
  concurrency?: number;
  /** How long a shard's lock lasts unless renewed (ms, BullMQ default 30 000): a dead worker's shard is retaken after about this long. */
  lockDuration?: number;
  /** How often workers look for shards whose lock lapsed (ms, default 30 000). */
  stalledInterval?: number;
  /** Times a shard may lose its worker before it is marked failed (default 3). */
  maxStalledCount?: number;
  /** Stops taking shards; the one in progress is finished first. */
  signal?: AbortSignal;
  onCompleted?: (result: ShardResult) => void;
  onFailed?: (shardId: string, reason: string) => void;
}

// BullMQ's advice for CPU-heavy jobs: a sandboxed processor, in its own process, so this one
// keeps renewing the lock however busy the model is. From sources (tests) the .ts one runs
// under the loader this process was started with.
function processorFile(): string {
  const built = new URL('./shard-processor.js', import.meta.url);
  return fileURLToPath(existsSync(built) ? built : new URL('./shard-processor.ts', import.meta.url));
}

/** Takes shards from the queue and embeds them until `signal` aborts; resolves once it has stopped. */
export async function runShardWorker(options: ShardWorkerOptions): Promise<{ completed: number; failed: number }> {
  const client = connect(options.redis, true);
  await reachable(client, options.redis);
  const worker = new Worker<ShardJob, ShardResult>(options.queue ?? DEFAULT_QUEUE, processorFile(), {
    connection: client,
    concurrency: options.concurrency ?? 1,
    // Given only when set: an explicit undefined would replace BullMQ's defaults.
    ...(options.name ? { name: options.name } : {}),
    ...(options.lockDuration ? { lockDuration: options.lockDuration } : {}),
    ...(options.stalledInterval ? { stalledInterval: options.stalledInterval } : {}),
    maxStalledCount: options.maxStalledCount ?? 3,
    useWorkerThreads: false,
    autorun: false,
  });
  const tally = { completed: 0, failed: 0 };
  worker.on('completed', (_job, result) => {
    tally.completed++;
    options.onCompleted?.(result);
  });
  worker.on('failed', (job, error) => {
    tally.failed++;
    options.onFailed?.(job?.id ?? '?', error.message);
  });
  worker.on('error', () => {}); // reconnects are BullMQ's; a lost connection must not end the process
  const stop = () => void worker.close();
  options.signal?.addEventListener('abort', stop, { once: true });
  try {
    if (!options.signal?.aborted) await worker.run();
  } finally {
    options.signal?.removeEventListener('abort', stop);
    await worker.close();
    client.disconnect();
  }
  return tally;
}

export interface QueueStatus {
  waiting: number;
  active: number;
  delayed: number;
  completed: number;
  failed: number;
  /** Images embedded by completed shards. */
  embedded: number;
  /** Images in every shard the queue holds. */
  images: number;
  failures: { shardId: string; reason: string; attempts: number }[];
}

/** Shards by state and images done: what `vitkit queue status` prints. */
export async function queueStatus(options: QueueConnection): Promise<QueueStatus> {
  const client = connect(options.redis, false);
  await reachable(client, options.redis);
  const queue = new Queue<ShardJob, ShardResult>(options.queue ?? DEFAULT_QUEUE, { connection: client });
  try {
    const c = await queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed');
    const states = ['waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed'] as const;
    let images = 0;
    let embedded = 0;
    const failures: QueueStatus['failures'] = [];
    // Page by page, so a queue of many thousand shards (each with its paths) is never held at once.
    for (const state of states) {
      for (let start = 0; start < (c[state] ?? 0); start += STATUS_PAGE) {
        for (const j of await queue.getJobs([state], start, start + STATUS_PAGE - 1)) {
          images += j.data?.paths?.length ?? 0;
          if (state === 'completed') embedded += j.returnvalue?.embedded ?? 0;
          if (state === 'failed') failures.push({ shardId: j.id ?? '?', reason: j.failedReason, attempts: j.attemptsMade });
        }
      }
    }
    return {
      waiting: (c.waiting ?? 0) + (c.prioritized ?? 0),
      active: c.active ?? 0,
      delayed: c.delayed ?? 0,
      completed: c.completed ?? 0,
      failed: c.failed ?? 0,
      embedded,
      images,
      failures,
    };
  } finally {
    await queue.close();
    client.disconnect();
  }
}
