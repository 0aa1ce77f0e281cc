// Node-only helpers for ModelSession, reached only through '#platform' (browser bundles never see fs).
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { arch, availableParallelism, cpus, homedir } from 'node:os';
import { join } from 'node:path';

export interface OptimizedModelEntry {
  /** Bytes of the cached optimized graph, when there is one. */
  cached?: Uint8Array;
  /** Where onnxruntime should write the optimized graph (a temporary name next to the entry). */
  writePath: string;
  /** Moves the written graph into place; call once the session was created. */
  commit(): void;
  /** Removes a partial write. */
  abandon(): void;
  /** Removes the cached entry (onnxruntime refused it). */
  discard(): void;
}

export const nodeRuntime = {
  /** Every core Node may use (os.availableParallelism honours affinity masks and cgroup limits). */
  availableCores(): number {
    return typeof availableParallelism === 'function' ? availableParallelism() : Math.max(1, cpus().length);
  },

  /**
   * onnxruntime's optimized graph, cached on disk under a key of `key` (with `model`'s bytes when the
   * key does not name the graph itself) and the CPU (optimized graphs hold layouts chosen for its
   * instruction set). Writes are atomic: a temporary file renamed into place once onnxruntime has
   * written it and the session loaded.
   */
  optimizedModel(key: Record<string, unknown>, model: Uint8Array | undefined, dir?: string): OptimizedModelEntry {
    const root = dir ?? defaultCacheDir();
    const hash = createHash('sha256');
    hash.update(JSON.stringify({ ...key, vitkit: vitkitVersion(), arch: arch(), cpu: cpus()[0]?.model ?? '' }));
    if (model) hash.update(model);
    const file = join(root, `${hash.digest('hex').slice(0, 32)}.ort`);
    let cached: Uint8Array | undefined;
    if (existsSync(file)) {
      try {
        const buffer = readFileSync(file);
        cached = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
      } catch {
        // unreadable: rebuilt and replaced below
      }
    }
    mkdirSync(root, { recursive: true });
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    return {
      cached,
      writePath: tmp,
      commit() {
        if (existsSync(tmp)) renameSync(tmp, file);
      },
      abandon() {
        rmSync(tmp, { force: true });
      },
      discard() {
        rmSync(file, { force: true });
      },
    };
  },
};

export type NodeRuntime = typeof nodeRuntime;

let version: string | undefined;
/** @vitkit/core's version (all @vitkit packages release together): graphs built by another version are not reused. */
function vitkitVersion(): string {
  try {
    version ??= (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    version = 'bundled'; // inside an application bundle, where the package's files are gone
  }
  return version;
}

function defaultCacheDir(): string {
  const base =
    process.env.VITKIT_CACHE ??
    (process.env.XDG_CACHE_HOME ? join(process.env.XDG_CACHE_HOME, 'vitkit') : join(homedir(), '.cache', 'vitkit'));
  return join(base, 'optimized');
}
