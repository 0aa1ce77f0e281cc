// Node only (reached from load-weights.ts): checkpoint files read by range with positioned reads.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { VitkitError } from '../errors/vitkit-error.js';
import { allocateBytes, type ByteSource, checkRange } from './byte-source.js';

/** One positioned read returns at most this much on Linux (and Node refuses more than 2 GiB), so larger ranges loop. */
const READ_CHUNK = 1 << 30;

/**
 * A file read by range: each `read` opens the file, checks it still has the size it had when the
 * source was made (a checkpoint replaced or cut short meanwhile is refused), reads and closes, so a
 * weight store that is never released holds no descriptor.
 */
export function fileSource(path: string, source: string): ByteSource {
  const size = withFile(path, source, (fd) => fstatSync(fd).size);
  return {
    source,
    size,
    read(offset, length) {
      checkRange(offset, length, size, source);
      return withFile(path, source, (fd) => {
        const now = fstatSync(fd).size;
        if (now !== size) {
          throw new VitkitError(
            'WEIGHTS_TRUNCATED',
            `${source} changed size since it was opened (${size} → ${now} bytes); load the checkpoint again.`,
          );
        }
        const out = allocateBytes(length, source);
        for (let done = 0; done < length; ) {
          const n = readSync(fd, out, done, Math.min(READ_CHUNK, length - done), offset + done);
          if (n === 0)
            throw new VitkitError('WEIGHTS_TRUNCATED', `${source} ended at byte ${offset + done} while reading; the file is truncated.`);
          done += n;
        }
        return out;
      });
    },
  };
}

function withFile<T>(path: string, source: string, use: (fd: number) => T): T {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (cause) {
    throw new VitkitError('FILE_NOT_FOUND', `${source} could not be read: ${(cause as Error).message}`, { cause });
  }
  try {
    return use(fd);
  } catch (cause) {
    if (cause instanceof VitkitError) throw cause;
    throw new VitkitError('FILE_NOT_FOUND', `${source} could not be read: ${(cause as Error).message}`, { cause });
  } finally {
    closeSync(fd);
  }
}
