// Test-only: one `vitkit worker` as a process of its own, with short locks so a killed one's shard is retaken in seconds.
// argv: <redis url> <queue> <name>
import { runShardWorker } from '../shard-queue.js';

const [redis, queue, name] = process.argv.slice(2);
const stop = new AbortController();
process.on('SIGTERM', () => stop.abort());
await runShardWorker({
  redis,
  queue,
  name,
  lockDuration: 4000,
  stalledInterval: 1500,
  signal: stop.signal,
  onCompleted: (r) => process.stdout.write(`${name} completed ${r.shardId} ${r.embedded}\n`),
  onFailed: (id, reason) => process.stdout.write(`${name} failed ${id} ${reason}\n`),
});
