// The image-sets section (`pnpm bench --only image-sets`): dinov2-small over a folder of JPEGs of
// mixed sizes, files in → vectors stored, against the model alone at the same batch size and against
// a transformers.js pipeline loop over the same files; then the distributed mode (vitkit queue add +
// 2 vitkit worker processes on a private redis-server) against one `vitkit embed` process.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import sharp from 'sharp';
import { CONFIGS_DIR, syntheticCheckpoint } from './checkpoints.js';
import { runChild } from './child-entry.js';
import { cliBin } from './cli-child.js';
import type { ImageSetsRequest, ImageSetsResult } from './image-sets-child.js';
import type { DistributedReport, DistributedRound, ImageSetsReport, ImageSetsRound, ImageSetsRunner } from './types.js';

export const IMAGE_SETS_MODEL = 'dinov2-small';
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PHOTOS = join(REPO_ROOT, 'fixtures/preprocess/images');

export interface ImageSetsOptions {
  images: number;
  batch: number;
  rounds: number;
  cacheDir: string;
  /** A real-size Optimum-style export of dinov2-small (onnx/model.onnx + model.onnx_data, config.json) for the transformers.js rows. */
  tjsExport?: string;
  status(line: string): void;
  log(line: string): void;
}

/** Seeded, so every run measures the same files. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** `count` JPEGs of mixed sizes from the fixtures' photos: crops, scales, flips, re-encodes (made once, then reused). */
export async function imageFolder(cacheDir: string, count: number): Promise<string> {
  const dir = join(cacheDir, `image-sets-photos-${count}`);
  if (existsSync(dir) && readdirSync(dir).filter((f) => f.endsWith('.jpg')).length === count) return dir;
  rmSync(dir, { recursive: true, force: true });
  const tmp = `${dir}.${process.pid}.tmp`;
  mkdirSync(tmp, { recursive: true });
  const sources = ['cats.jpg', 'cats.png', 'synthetic_97x61.png', 'gray_64x48.png', 'rgba_50x70.png'].map((f) => join(PHOTOS, f));
  const rnd = random(17);
  for (let i = 0; i < count; i++) {
    const src = sources[i % 3 === 2 ? 2 + (i % 3) : i % 2]; // mostly the 640x480 photo, some small ones
    const meta = await sharp(src).metadata();
    const w = Math.max(8, Math.floor((meta.width as number) * (0.4 + 0.6 * rnd())));
    const h = Math.max(8, Math.floor((meta.height as number) * (0.4 + 0.6 * rnd())));
    let img = sharp(src).extract({
      left: Math.floor(((meta.width as number) - w) * rnd()),
      top: Math.floor(((meta.height as number) - h) * rnd()),
      width: w,
      height: h,
    });
    img = img.resize(Math.round(w * (0.5 + 2 * rnd())));
    if (rnd() < 0.5) img = img.flop();
    if (rnd() < 0.2) img = img.flip();
    await img.jpeg({ quality: Math.floor(50 + 45 * rnd()) }).toFile(join(tmp, `${String(i).padStart(5, '0')}.jpg`));
  }
  rmSync(dir, { recursive: true, force: true });
  execFileSync('mv', [tmp, dir]);
  return dir;
}

/** One measurement in a fresh process. */
export function measure(req: ImageSetsRequest, timeoutMs = 900_000): Promise<ImageSetsResult> {
  return runChild<ImageSetsRequest, ImageSetsResult>('image-sets-child', req, req.kind, timeoutMs);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const r3 = (v: number) => Math.round(v * 1000) / 1000;

export async function imageSetsSection(o: ImageSetsOptions): Promise<ImageSetsReport> {
  o.status(`${IMAGE_SETS_MODEL}: synthesizing weights; ${o.images} JPEGs of mixed sizes`);
  const checkpoint = await syntheticCheckpoint(join(CONFIGS_DIR, IMAGE_SETS_MODEL), o.cacheDir, IMAGE_SETS_MODEL);
  const folder = await imageFolder(o.cacheDir, o.images);
  const small = await imageFolder(o.cacheDir, 100);
  const work = mkdtempSync(join(tmpdir(), 'vitkit-bench-image-sets-'));
  const skipped: string[] = [];
  const rounds: ImageSetsRound[] = [];
  const sample = join(PHOTOS, 'cats.jpg');
  const haveTjs = o.tjsExport !== undefined && existsSync(join(o.tjsExport, 'onnx', 'model.onnx_data'));
  if (!haveTjs)
    skipped.push(
      'transformers.js rows: pass --image-sets-tjs <folder>, an Optimum-style export of dinov2-small (onnx/model.onnx with its model.onnx_data)',
    );
  try {
    const out = (name: string) => join(work, name);
    // The model alone reaches its steady state within a few batches: 20 of them (or the folder) keep the section short.
    const modelImages = Math.min(o.images, 20 * o.batch);
    const plan: [ImageSetsRunner, () => ImageSetsRequest][] = [
      ['model fp32', () => ({ kind: 'model', checkpoint, dtype: 'fp32', batch: o.batch, images: modelImages, sample })],
      ['vitkit fp32', () => ({ kind: 'vitkit', checkpoint, dtype: 'fp32', batch: o.batch, folder, out: out('fp32') })],
      ...(haveTjs
        ? [
            ['transformers.js', () => ({ kind: 'tjs', exportDir: o.tjsExport as string, folder, out: out('tjs') })] as [
              ImageSetsRunner,
              () => ImageSetsRequest,
            ],
          ]
        : []),
      ['model int8', () => ({ kind: 'model', checkpoint, dtype: 'int8', batch: o.batch, images: modelImages, sample })],
      ['vitkit int8', () => ({ kind: 'vitkit', checkpoint, dtype: 'int8', batch: o.batch, folder, out: out('int8') })],
    ];
    // Runners take turns round by round, so load from other processes falls on all of them alike.
    for (let round = 1; round <= o.rounds; round++) {
      for (const [runner, req] of plan) {
        o.status(`image sets round ${round}/${o.rounds}: ${runner}`);
        rmSync(out('fp32'), { recursive: true, force: true });
        rmSync(out('int8'), { recursive: true, force: true });
        rmSync(out('tjs'), { recursive: true, force: true });
        const result = await measure(req());
        rounds.push({ round, runner, result });
        o.log(
          `image sets round ${round} ${runner.padEnd(15)} ${result.imagesPerSecond.toFixed(2)} images/s, ${result.cpuMsPerImage.toFixed(0)} CPU ms/image` +
            `${result.batchMsP50 ? `, model call p50 ${result.batchMsP50.toFixed(0)} ms` : ''}` +
            `${result.modelBusy !== undefined ? `, model busy ${(100 * result.modelBusy).toFixed(1)} %` : ''}, peak RSS ${result.peakRssMb} MiB`,
        );
      }
    }
    o.status('image sets: vitkit fp32 over 100 images (peak RSS)');
    rmSync(out('fp32'), { recursive: true, force: true });
    const at100 = await measure({ kind: 'vitkit', checkpoint, dtype: 'fp32', batch: o.batch, folder: small, out: out('fp32') });
    const ips = (runner: ImageSetsRunner) => median(rounds.filter((r) => r.runner === runner).map((r) => r.result.imagesPerSecond));
    const perRound = (a: ImageSetsRunner, b: ImageSetsRunner) =>
      median(
        rounds
          .filter((r) => r.runner === a)
          .map(
            (r) =>
              r.result.imagesPerSecond / (rounds.find((x) => x.round === r.round && x.runner === b)?.result.imagesPerSecond ?? Number.NaN),
          ),
      );
    const summary: Record<string, number> = {
      'vitkit fp32 images/s': r3(ips('vitkit fp32')),
      'vitkit int8 images/s': r3(ips('vitkit int8')),
      'model fp32 images/s': r3(ips('model fp32')),
      'model int8 images/s': r3(ips('model int8')),
      'end to end / model, fp32': r3(perRound('vitkit fp32', 'model fp32')),
      'end to end / model, int8': r3(perRound('vitkit int8', 'model int8')),
    };
    if (haveTjs) {
      summary['transformers.js images/s'] = r3(ips('transformers.js'));
      summary['vitkit fp32 / transformers.js'] = r3(perRound('vitkit fp32', 'transformers.js'));
      summary['vitkit int8 / transformers.js'] = r3(perRound('vitkit int8', 'transformers.js'));
    }
    const allFp32 = rounds.filter((r) => r.runner === 'vitkit fp32').map((r) => r.result.peakRssMb);
    const report: ImageSetsReport = {
      model: IMAGE_SETS_MODEL,
      images: o.images,
      batch: o.batch,
      rounds,
      peakRssMb: { at100: at100.peakRssMb, atAll: Math.max(...allFp32) },
      summary,
      skipped,
    };
    for (const [k, v] of Object.entries(summary)) o.log(`image sets ${k}: ${v}`);
    o.log(`image sets peak RSS (vitkit fp32): ${at100.peakRssMb} MiB at 100 images, ${report.peakRssMb.atAll} MiB at ${o.images}`);
    return report;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const REDIS_SERVER = process.env.REDIS_SERVER_PATH ?? 'redis-server';

function hasRedisServer(): boolean {
  try {
    execFileSync(REDIS_SERVER, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A private redis-server on 127.0.0.1 (no persistence), stopped with the returned function. */
async function startRedis(dir: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const child = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${log}`)), 10_000);
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${log}`)));
    child.stdout?.on('data', (d) => {
      log += d;
      if (log.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** `vitkit <args>` to its exit, timed. */
async function cli(args: string[]): Promise<number> {
  const t = performance.now();
  await new Promise<void>((resolve, reject) => {
    let stderr = '';
    const child = spawn(process.execPath, [cliBin(), ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`vitkit ${args.join(' ')} exited with ${code}: ${stderr.slice(-500)}`)),
    );
  });
  return (performance.now() - t) / 1000;
}

export interface DistributedOptions {
  images: number;
  batch: number;
  rounds: number;
  shardSize: number;
  workers: number;
  cacheDir: string;
  status(line: string): void;
  log(line: string): void;
}

/**
 * The distributed mode on one machine: per round, one `vitkit embed <folder>` process (start to
 * exit), then `vitkit queue add` + `workers` `vitkit worker` processes (started first and waiting,
 * as servers are) + `vitkit queue merge` on a private redis-server, timed from the enqueue to the
 * merge's exit. On one machine this shows the queue's overhead, not a speed-up.
 */
export async function distributedSection(o: DistributedOptions): Promise<DistributedReport | string> {
  if (!hasRedisServer()) return `no ${REDIS_SERVER} (apt-get install redis-server, or set REDIS_SERVER_PATH)`;
  o.status(`${IMAGE_SETS_MODEL}: synthesizing weights; ${o.images} JPEGs of mixed sizes`);
  const checkpoint = await syntheticCheckpoint(join(CONFIGS_DIR, IMAGE_SETS_MODEL), o.cacheDir, IMAGE_SETS_MODEL);
  const folder = await imageFolder(o.cacheDir, o.images);
  const work = mkdtempSync(join(tmpdir(), 'vitkit-bench-distributed-'));
  const shards = Math.ceil(o.images / o.shardSize);
  const rounds: DistributedRound[] = [];
  const redisDir = join(work, 'redis');
  mkdirSync(redisDir);
  const redis = await startRedis(redisDir);
  const queue = new Queue('vitkit-embed', { connection: { url: redis.url } as never });
  try {
    for (let round = 1; round <= o.rounds; round++) {
      o.status(`image sets distributed round ${round}/${o.rounds}: one vitkit embed process`);
      const single = join(work, 'single');
      rmSync(single, { recursive: true, force: true });
      const singleSeconds = await cli(['embed', folder, '--model', checkpoint, '--out', single, '--batch-size', String(o.batch)]);
      o.status(`image sets distributed round ${round}/${o.rounds}: vitkit queue add + ${o.workers} vitkit worker + merge`);
      await queue.obliterate({ force: true });
      const children: ChildProcess[] = [];
      try {
        for (let i = 0; i < o.workers; i++)
          children.push(spawn(process.execPath, [cliBin(), 'worker', '--redis', redis.url], { stdio: ['ignore', 'ignore', 'ignore'] }));
        // Workers are servers: they are up and waiting before the folder is queued.
        while ((await queue.getWorkers()).length < o.workers) await new Promise((r) => setTimeout(r, 100));
        const shardsDir = join(work, `shards-${round}`);
        const merged = join(work, `merged-${round}`);
        const t0 = performance.now();
        const enqueueSeconds = await cli([
          'queue',
          'add',
          folder,
          '--redis',
          redis.url,
          '--model',
          checkpoint,
          '--shards',
          shardsDir,
          '--shard-size',
          String(o.shardSize),
          '--batch-size',
          String(o.batch),
        ]);
        for (;;) {
          const c = await queue.getJobCounts('completed', 'failed');
          if ((c.failed ?? 0) > 0) throw new Error('a shard failed in the distributed run');
          if ((c.completed ?? 0) >= shards) break;
          await new Promise((r) => setTimeout(r, 50));
        }
        const mergeSeconds = await cli(['queue', 'merge', '--shards', shardsDir, '--out', merged]);
        const distributedSeconds = (performance.now() - t0) / 1000;
        const jobs = await queue.getJobs(['completed']);
        const byWorker = new Map<string, typeof jobs>();
        for (const j of jobs) byWorker.set(j.processedBy ?? '?', [...(byWorker.get(j.processedBy ?? '?') ?? []), j]);
        const firstPickupMs: number[] = [];
        const gaps: number[] = [];
        const outsideFirst: number[] = [];
        const outsideLater: number[] = [];
        const shardSeconds: number[] = [];
        const lastDone: number[] = [];
        for (const list of byWorker.values()) {
          list.sort((a, b) => (a.processedOn ?? 0) - (b.processedOn ?? 0));
          firstPickupMs.push((list[0].processedOn ?? 0) - list[0].timestamp);
          lastDone.push(list.at(-1)?.finishedOn ?? 0);
          list.forEach((j, i) => {
            const r = j.returnvalue as { seconds: number };
            const outside = (j.finishedOn ?? 0) - (j.processedOn ?? 0) - 1000 * r.seconds;
            (i === 0 ? outsideFirst : outsideLater).push(Math.round(outside));
            shardSeconds.push(r.seconds);
            if (i > 0) gaps.push((j.processedOn ?? 0) - (list[i - 1].finishedOn ?? 0));
          });
        }
        const r: DistributedRound = {
          round,
          singleSeconds: r3(singleSeconds),
          distributedSeconds: r3(distributedSeconds),
          ratio: r3(singleSeconds / distributedSeconds),
          enqueueSeconds: r3(enqueueSeconds),
          mergeSeconds: r3(mergeSeconds),
          firstPickupMs,
          pickupGapMsP50: median(gaps),
          outsideIndexMsFirst: outsideFirst,
          outsideIndexMsLaterP50: median(outsideLater),
          shardSecondsP50: r3(median(shardSeconds)),
          tailMs: Math.max(...lastDone) - Math.min(...lastDone),
        };
        rounds.push(r);
        o.log(
          `image sets distributed round ${round}: ${o.workers} workers ${r.distributedSeconds.toFixed(1)} s vs one process ${r.singleSeconds.toFixed(1)} s = ${(100 * r.ratio).toFixed(1)} % ` +
            `(enqueue ${r.enqueueSeconds.toFixed(1)} s, first pickup ${firstPickupMs.join('/')} ms, pickup gap p50 ${r.pickupGapMsP50} ms, ` +
            `outside the index: first shard ${outsideFirst.join('/')} ms, later p50 ${r.outsideIndexMsLaterP50} ms, shard p50 ${r.shardSecondsP50} s, tail ${r.tailMs} ms, merge ${r.mergeSeconds.toFixed(1)} s)`,
        );
      } finally {
        for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
        await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
      }
    }
    return { images: o.images, shards, shardSize: o.shardSize, workers: o.workers, rounds, ratio: r3(median(rounds.map((r) => r.ratio))) };
  } finally {
    await queue.close();
    await redis.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
