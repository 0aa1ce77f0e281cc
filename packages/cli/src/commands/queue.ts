import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { VitkitError } from '@vitkit/core';
import { DEFAULT_QUEUE, enqueueShards, mergeShards, queueStatus, runShardWorker } from '@vitkit/image-sets';
import { type Command, Option } from 'commander';

const positiveInt = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new VitkitError('INVALID_ARGUMENT', `${name} must be a positive whole number, got ${v}.`);
  return n;
};

const redisOption = () => new Option('--redis <url>', 'Redis every machine reaches, e.g. redis://10.0.0.5:6379').makeOptionMandatory();
const queueOption = () => new Option('--queue <name>', 'queue name').default(DEFAULT_QUEUE);

/** `vitkit queue add|status|merge` and `vitkit worker`: embedding a folder on many machines through BullMQ on Redis. */
export function registerQueue(program: Command): void {
  const queue = program.command('queue').description('Embed an image set on many machines: shards on a BullMQ queue in Redis');

  queue
    .command('add')
    .description('Split a folder (glob, .txt list) into shards and queue one job per shard (adding again adds nothing twice)')
    .argument('<source>', 'folder, glob or .txt list, at the same path on every worker')
    .addOption(redisOption())
    .addOption(queueOption())
    .option('--model <dir-or-id>', 'checkpoint (a folder must be at the same path on every worker)', 'facebook/dinov2-small')
    .requiredOption('--shards <dir>', 'shared folder the workers write one finished shard folder each to')
    .addOption(new Option('--shard-size <n>', 'images per shard').argParser(positiveInt('--shard-size')).default(256))
    .addOption(new Option('--batch-size <n>', 'images per model call').argParser(positiveInt('--batch-size')))
    .action(
      async (source: string, o: { redis: string; queue: string; model: string; shards: string; shardSize: number; batchSize?: number }) => {
        const r = await enqueueShards(source, {
          redis: o.redis,
          queue: o.queue,
          model: existsSync(o.model) ? resolve(o.model) : o.model,
          shardsDir: o.shards,
          shardSize: o.shardSize,
          batchSize: o.batchSize,
        });
        process.stdout.write(`${r.images} images in ${r.shards} shards; ${r.added} new jobs on ${o.queue}\n`);
      },
    );

  queue
    .command('status')
    .description('Shards waiting, running, done and failed, and images embedded')
    .addOption(redisOption())
    .addOption(queueOption())
    .option('--json', 'print the status as JSON')
    .action(async (o: { redis: string; queue: string; json?: boolean }) => {
      const s = await queueStatus({ redis: o.redis, queue: o.queue });
      if (o.json) {
        process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
        return;
      }
      process.stdout.write(
        `${s.embedded}/${s.images} images embedded; shards: ${s.completed} done, ${s.active} running, ` +
          `${s.waiting} waiting, ${s.delayed} retrying later, ${s.failed} failed\n`,
      );
      for (const f of s.failures) process.stdout.write(`failed ${f.shardId} after ${f.attempts} tries: ${f.reason}\n`);
    });

  queue
    .command('merge')
    .description('Fold the finished shard folders into one image index (one row per image; merging again adds nothing)')
    .requiredOption('--shards <dir>', 'the folder given to `vitkit queue add --shards`')
    .requiredOption('--out <index>', 'LanceDB index folder (created, or added to)')
    .action(async (o: { shards: string; out: string }) => {
      const r = await mergeShards(o.shards, o.out);
      process.stdout.write(
        `merged ${r.shards} shards: ${r.added} rows added, ${r.duplicates} already there; ${o.out} holds ${r.rows} rows` +
          `${r.annIndex ? ' with an ANN index' : ''}\n`,
      );
    });

  program
    .command('worker')
    .description('Take shards from the queue and embed them until stopped (Ctrl-C finishes the shard in progress)')
    .addOption(redisOption())
    .addOption(queueOption())
    .addOption(
      new Option('--concurrency <n>', 'shards at once, each in its own process').argParser(positiveInt('--concurrency')).default(1),
    )
    .addOption(
      new Option('--lock-ms <ms>', "a shard's lock; a dead worker's shard is retaken after about this long").argParser(
        positiveInt('--lock-ms'),
      ),
    )
    .action(async (o: { redis: string; queue: string; concurrency: number; lockMs?: number }) => {
      const stop = new AbortController();
      const onSignal = () => {
        process.stderr.write('\nstopping after the shard in progress…\n');
        stop.abort();
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        const name = `${hostname()}:${process.pid}`;
        process.stderr.write(`worker ${name} on ${o.queue}\n`);
        const r = await runShardWorker({
          redis: o.redis,
          queue: o.queue,
          name,
          concurrency: o.concurrency,
          lockDuration: o.lockMs,
          ...(o.lockMs ? { stalledInterval: Math.max(1000, Math.round(o.lockMs / 2)) } : {}),
          signal: stop.signal,
          onCompleted: (s) =>
            process.stderr.write(`done ${s.shardId}: ${s.embedded} embedded, ${s.failed.length} unreadable, ${s.seconds.toFixed(1)} s\n`),
          onFailed: (id, reason) => process.stderr.write(`failed ${id}: ${reason}\n`),
        });
        process.stdout.write(`stopped: ${r.completed} shards done, ${r.failed} failed here\n`);
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
