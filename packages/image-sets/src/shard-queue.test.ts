import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixturePath } from '@vitkit/test-support';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { buildImageIndex } from './build-index.js';
import { ImageIndex } from './image-index.js';
import { enqueueShards, queueStatus } from './shard-queue.js';
import { mergeShards } from './shard-store.js';
import { TINY_DINOV2 } from './test-support/image-folder.js';
import { hasRedisServer, REDIS_SERVER, type RedisServer, startRedisServer } from './test-support/redis-server.js';

// Needs redis-server (Debian package `redis-server`, or REDIS_SERVER_PATH). Without it the suite
// skips locally and fails under CI=true.
const IN_CI = process.env.CI === 'true' || process.env.CI === '1';
const HAVE_REDIS = hasRedisServer();

const IMAGES = 40;
const SHARD_SIZE = 8;

/** IMAGES distinct small JPEGs and PNGs made from the fixtures' photos (sizes, flips, qualities vary). */
async function makeImages(dir: string): Promise<string[]> {
  const photos = ['cats.jpg', 'gray_64x48.png', 'rgba_50x70.png', 'synthetic_97x61.png'].map((p) => fixturePath(`preprocess/images/${p}`));
  const paths: string[] = [];
  for (let i = 0; i < IMAGES; i++) {
    let image = sharp(photos[i % photos.length]).resize(48 + 7 * i, 40 + 5 * (i % 9), { fit: 'fill' });
    if (i % 3 === 1) image = image.flop();
    const path = join(dir, `sub${i % 3}`, `img-${String(i).padStart(2, '0')}.${i % 2 ? 'png' : 'jpg'}`);
    mkdirSync(join(dir, `sub${i % 3}`), { recursive: true });
    await (i % 2 ? image.png() : image.jpeg({ quality: 60 + (i % 30) })).toFile(path);
    paths.push(path);
  }
  return paths.sort();
}

async function rowsOf(out: string): Promise<Map<string, Float32Array>> {
  const index = await ImageIndex.open(out);
  try {
    return new Map((await index.vectors()).map((v) => [v.path, v.cls]));
  } finally {
    index.close();
  }
}

const loader = new URL('../../cli/src/test-support/source-loader.mjs', import.meta.url).href;
const register = `data:text/javascript,import{register}from'node:module';register(${JSON.stringify(loader)});`;

interface WorkerProcess {
  name: string;
  child: ChildProcess;
  log: string[];
}

/** A worker in a process group of its own, so the test can see (and clean up) its sandboxed child too. */
function startWorker(redis: string, queue: string, name: string): WorkerProcess {
  const child = spawn(process.execPath, ['--import', register, fileURLToPathSafe('./test-support/shard-worker.ts'), redis, queue, name], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log: string[] = [];
  child.stdout?.on('data', (d) => log.push(String(d)));
  child.stderr?.on('data', (d) => log.push(String(d)));
  return { name, child, log };
}

function fileURLToPathSafe(relative: string): string {
  return new URL(relative, import.meta.url).pathname;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

describe.skipIf(!HAVE_REDIS && !IN_CI)('shards on BullMQ + Redis', () => {
  const work = mkdtempSync(join(tmpdir(), 'vitkit-queue-'));
  let server: RedisServer | undefined;
  const workers: WorkerProcess[] = [];
  afterAll(async () => {
    for (const w of workers) killGroup(w.child, 'SIGKILL');
    await server?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('3 workers, one SIGKILLed mid-shard: every image once, the index equal to a single-process run', async () => {
    if (!HAVE_REDIS)
      throw new Error(`redis-server not found (${REDIS_SERVER}): apt-get install -y redis-server, or set REDIS_SERVER_PATH.`);
    server = await startRedisServer();
    const redis = server.url;
    const queueName = 'test-embed';
    const folder = join(work, 'images');
    const paths = await makeImages(folder);
    const shardsDir = join(work, 'shards');

    const added = await enqueueShards(folder, {
      redis,
      queue: queueName,
      model: TINY_DINOV2,
      shardsDir,
      shardSize: SHARD_SIZE,
      batchSize: 2,
    });
    expect(added).toEqual({ images: IMAGES, shards: IMAGES / SHARD_SIZE, added: IMAGES / SHARD_SIZE });
    // Idempotent job ids: the same folder again adds nothing.
    expect(await enqueueShards(folder, { redis, queue: queueName, model: TINY_DINOV2, shardsDir, shardSize: SHARD_SIZE })).toMatchObject({
      added: 0,
    });

    const started = performance.now();
    for (const name of ['w0', 'w1', 'w2']) workers.push(startWorker(redis, queueName, name));
    const client = new Redis(redis, { maxRetriesPerRequest: null });
    const queue = new Queue(queueName, { connection: client });
    try {
      // Kill w0 while it holds a shard.
      const held = await until(
        'w0 to take a shard',
        async () => (await queue.getJobs(['active'])).find((j) => j.processedBy === 'w0'),
        60_000,
      );
      // The worker process alone: its sandboxed child must notice and exit by itself.
      workers[0].child.kill('SIGKILL');
      const status = await until(
        'every shard to complete',
        async () => {
          const s = await queueStatus({ redis, queue: queueName });
          if (s.failed > 0)
            throw new Error(`a shard failed: ${JSON.stringify(s.failures)}\n${workers.map((w) => w.log.join('')).join('\n')}`);
          return s.completed === IMAGES / SHARD_SIZE ? s : undefined;
        },
        150_000,
      );
      const seconds = (performance.now() - started) / 1000;
      console.log(`[shard-queue] ${IMAGES} images in ${IMAGES / SHARD_SIZE} shards by 3 workers (one killed) in ${seconds.toFixed(1)} s`);
      // Each completed shard embedded its images once, and together they are every image once.
      expect(status).toMatchObject({ completed: IMAGES / SHARD_SIZE, failed: 0, embedded: IMAGES, images: IMAGES });
      // The killed worker's shard was retaken by another (stalled-job recovery) and finished there.
      const retaken = await queue.getJob(held.id as string);
      expect(retaken?.finishedOn).toBeDefined();
      expect(retaken?.processedBy).not.toBe('w0');
      expect(workers[0].log.join('')).not.toContain(`completed ${held.id}`);
      // Nothing of the killed worker's process group is left (no orphaned embedding child).
      const group = -(workers[0].child.pid as number);
      const alive = () => {
        try {
          process.kill(group, 0);
          return true;
        } catch {
          return false;
        }
      };
      await until('the killed worker’s sandboxed child to exit', async () => (alive() ? undefined : true), 20_000);
    } finally {
      await queue.close();
      client.disconnect();
      for (const w of workers.slice(1)) killGroup(w.child, 'SIGTERM');
    }

    // Only complete shards are folded in; the killed worker's partial folder (if any) is not one.
    expect(readdirSync(shardsDir).filter((n) => !n.startsWith('.')).length).toBe(IMAGES / SHARD_SIZE);
    const merged = join(work, 'merged.lance');
    expect(await mergeShards(shardsDir, merged)).toMatchObject({ shards: IMAGES / SHARD_SIZE, added: IMAGES, duplicates: 0, rows: IMAGES });
    // Merging again adds nothing.
    expect(await mergeShards(shardsDir, merged)).toMatchObject({ added: 0, duplicates: IMAGES, rows: IMAGES });

    const single = join(work, 'single.lance');
    await buildImageIndex(paths, { model: TINY_DINOV2, out: single, batchSize: 2, decodeWorkers: 0 });
    const [a, b] = [await rowsOf(merged), await rowsOf(single)];
    expect([...a.keys()].sort()).toEqual(paths);
    expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
    let maxDiff = 0;
    for (const [path, cls] of a) {
      const other = b.get(path) as Float32Array;
      expect(cls.length).toBe(other.length);
      for (let i = 0; i < cls.length; i++) maxDiff = Math.max(maxDiff, Math.abs(cls[i] - other[i]));
    }
    expect(maxDiff).toBeLessThanOrEqual(1e-6);
    const [ha, hb] = [await ImageIndex.open(merged), await ImageIndex.open(single)];
    try {
      expect([...(await ha.storedHashes())].sort()).toEqual([...(await hb.storedHashes())].sort());
      expect(ha.modelId).toBe(hb.modelId);
    } finally {
      ha.close();
      hb.close();
    }
  }, 240_000);
});
