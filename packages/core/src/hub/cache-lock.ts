import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { lock } from 'proper-lockfile';
import { VitkitError } from '../errors/vitkit-error.js';

/**
 * Runs `work` while holding an inter-process lock at `lockPath`, so two processes filling the same
 * cache entry take turns instead of appending to one `.incomplete` file together. proper-lockfile
 * makes the lock with an atomic mkdir and keeps its mtime fresh while held; a lock whose holder died
 * goes stale after `STALE_MS` and is taken over. Waiting has no deadline, like huggingface_hub's:
 * the holder is either alive and downloading, or its lock goes stale.
 */
const STALE_MS = 15_000;

export async function withCacheLock<T>(lockPath: string, work: () => Promise<T>): Promise<T> {
  await mkdir(dirname(lockPath), { recursive: true });
  let compromised: Error | undefined;
  const release = await lock(lockPath, {
    realpath: false,
    lockfilePath: lockPath,
    stale: STALE_MS,
    retries: { forever: true, minTimeout: 50, maxTimeout: 1_000, factor: 1.5 },
    // The default throws from a timer, which would crash the process; fail this download instead.
    onCompromised: (error) => {
      compromised = error;
    },
  });
  try {
    const result = await work();
    if (compromised) {
      throw new VitkitError(
        'HUB_DOWNLOAD_INTERRUPTED',
        `Lost the cache lock ${lockPath} while writing (${compromised.message}); another process may have taken it. Try again.`,
        {
          cause: compromised,
        },
      );
    }
    return result;
  } finally {
    await release().catch(() => {});
  }
}
