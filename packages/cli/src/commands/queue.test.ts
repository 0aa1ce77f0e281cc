import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { queueStatus } from '@vitkit/image-sets';
import { fixturePath } from '@vitkit/test-support';
import { Command } from 'commander';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { hasRedisServer, REDIS_SERVER, type RedisServer, startRedisServer } from '../../../image-sets/src/test-support/redis-server.js';
import { registerQueue } from './queue.js';

// Needs redis-server (Debian package `redis-server`): skipped locally without it, a failure under CI=true.
const IN_CI = process.env.CI === 'true' || process.env.CI === '1';
const HAVE_REDIS = hasRedisServer();
const MODEL = fixturePath('dinov2/default-res');
const PHOTOS = fixturePath('preprocess/images');

async function vitkit(...args: string[]): Promise<string> {
  const out: string[] = [];
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((s) => out.push(String(s)) > 0);
  try {
    const program = new Command('vitkit').exitOverride();
    registerQueue(program);
    await program.parseAsync(args, { from: 'user' });
  } finally {
    stdout.mockRestore();
  }
  return out.join('');
}

describe.skipIf(!HAVE_REDIS && !IN_CI)('vitkit queue add / worker / status / merge', () => {
  const work = mkdtempSync(join(tmpdir(), 'vitkit-queue-cli-'));
  let server: RedisServer | undefined;
  afterAll(async () => {
    await server?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('queues shards once, a worker embeds them, merge builds the index', async () => {
    if (!HAVE_REDIS)
      throw new Error(`redis-server not found (${REDIS_SERVER}): apt-get install -y redis-server, or set REDIS_SERVER_PATH.`);
    server = await startRedisServer();
    const redis = server.url;
    const photos = join(work, 'photos');
    mkdirSync(photos);
    for (const f of ['cats.jpg', 'cats.png', 'gray_64x48.png', 'synthetic_97x61.png']) copyFileSync(join(PHOTOS, f), join(photos, f));
    writeFileSync(join(photos, 'broken.png'), 'not a PNG');
    const shards = join(work, 'shards');
    const add = ['queue', 'add', photos, '--redis', redis, '--model', MODEL, '--shards', shards, '--shard-size', '2'];
    expect(await vitkit(...add)).toBe('5 images in 3 shards; 3 new jobs on vitkit-embed\n');
    expect(await vitkit(...add)).toBe('5 images in 3 shards; 0 new jobs on vitkit-embed\n');
    expect(await vitkit('queue', 'status', '--redis', redis)).toBe(
      '0/5 images embedded; shards: 0 done, 0 running, 3 waiting, 0 retrying later, 0 failed\n',
    );

    // The real command in a process of its own, stopped with SIGTERM once the queue is drained.
    const loader = new URL('../test-support/source-loader.mjs', import.meta.url).href;
    const register = `data:text/javascript,import{register}from'node:module';register(${JSON.stringify(loader)});`;
    const bin = fileURLToPath(new URL('../bin.ts', import.meta.url));
    const worker = spawn(process.execPath, ['--import', register, bin, 'worker', '--redis', redis], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    worker.stdout.on('data', (d) => {
      output += d;
    });
    worker.stderr.on('data', (d) => {
      output += d;
    });
    const exited = new Promise<number | null>((r) => worker.once('exit', r));
    try {
      const deadline = Date.now() + 90_000;
      while ((await queueStatus({ redis })).completed < 3) {
        if (Date.now() > deadline || worker.exitCode !== null) throw new Error(`worker did not finish the shards:\n${output}`);
        await new Promise((r) => setTimeout(r, 250));
      }
      worker.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      worker.kill('SIGKILL');
    }
    expect(output).toContain('stopped: 3 shards done, 0 failed here');
    expect(output).toMatch(/done shard-\w+: 1 embedded, 1 unreadable/);

    expect(await vitkit('queue', 'status', '--redis', redis)).toBe(
      '4/5 images embedded; shards: 3 done, 0 running, 0 waiting, 0 retrying later, 0 failed\n',
    );
    const index = join(work, 'index');
    expect(await vitkit('queue', 'merge', '--shards', shards, '--out', index)).toBe(
      `merged 3 shards: 4 rows added, 0 already there; ${index} holds 4 rows\n`,
    );
  }, 150_000);

  it('an unreachable Redis is a QUEUE_UNREACHABLE error, an empty shards folder FILE_NOT_FOUND', async () => {
    await expect(vitkit('queue', 'status', '--redis', 'redis://127.0.0.1:1')).rejects.toMatchObject({ code: 'QUEUE_UNREACHABLE' });
    await expect(vitkit('queue', 'merge', '--shards', join(work, 'none'), '--out', join(work, 'x'))).rejects.toMatchObject({
      code: 'FILE_NOT_FOUND',
    });
  });
});
