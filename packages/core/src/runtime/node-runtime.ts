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
}

export const nodeRuntime = {
  /** Every core Node may use (os.availableParallelism honours affinity masks and cgroup limits). */
  availableCores(): number {
    return typeof availableParallelism === 'function' ? availableParallelism() : Math.max(1, cpus().length);
  },

  /**
   * onnxruntime's optimized graph for `model`, cached on disk under a key of the graph bytes, the
   * onnxruntime version, the execution provider, the optimization level and the CPU (optimized graphs
   * may hold layouts chosen for the CPU's instruction set). Writes are atomic: a temporary file renamed
   * into place once onnxruntime has written it and the session loaded.
   */
  optimizedModel(model: Uint8Array, key: Record<string, unknown>, dir?: string): OptimizedModelEntry {
    const root = dir ?? defaultCacheDir();
    const hash = createHash('sha256');
    hash.update(JSON.stringify({ ...key, arch: arch(), cpu: cpus()[0]?.model ?? '' }));
    hash.update(model);
    const file = join(root, `${hash.digest('hex').slice(0, 32)}.onnx`);
    let cached: Uint8Array | undefined;
    if (existsSync(file)) {
      try {
        cached = new Uint8Array(readFileSync(file));
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
    };
  },
};

export type NodeRuntime = typeof nodeRuntime;

function defaultCacheDir(): string {
  const base =
    process.env.VITKIT_CACHE ??
    (process.env.XDG_CACHE_HOME ? join(process.env.XDG_CACHE_HOME, 'vitkit') : join(homedir(), '.cache', 'vitkit'));
  return join(base, 'optimized');
}
