// Node-only helpers for ModelSession, reached only through '#platform' (browser bundles never see fs).
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  ftruncateSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { arch, availableParallelism, cpus, homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { layoutExternalData } from '../graph/external-data.js';
import { encodeModel, type GraphParts } from '../graph/graph-parts.js';

export interface OptimizedModelEntry {
  /** The cached optimized graph (its weights beside it in `model.data`), when there is one. */
  cachedPath?: string;
  /** Where onnxruntime should write the optimized graph: `model.onnx` in a temporary folder next to the entry. */
  writePath: string;
  /** Session config entries that make onnxruntime write the entry's weights beside the graph. */
  writeConfig: Record<string, string>;
  /** Creates the temporary folder `writePath` is in; call before onnxruntime writes there. */
  beginWrite(): void;
  /** Moves the written folder into place; call once the session was created. */
  commit(): void;
  /** Removes a partial write. */
  abandon(): void;
  /** Removes the cached entry (onnxruntime refused it). */
  discard(): void;
}

/** The data file `writeExternalModel` writes beside `model.onnx`. */
const EXTERNAL_DATA_FILE = 'model.data';

/** A temporary entry folder older than this belongs to a writer that died. */
const STALE_WRITE_MS = 60 * 60 * 1000;

/** The weights file of an entry: `model.onnx` points to it by this name, relative to its folder. */
const ENTRY_DATA_FILE = 'model.data';

/**
 * What an entry was when written, checked before it is used: onnxruntime loads a damaged weights
 * file without complaint, and a flipped byte there makes outputs silently wrong (NaN).
 */
const ENTRY_INTEGRITY_FILE = 'integrity.json';

interface EntryIntegrity {
  /** The graph (small: its large weights are in the data file) is checked byte for byte. */
  graph: { size: number; sha256: string };
  /**
   * The weights file by size and modification time, not by content: checksumming ViT-S's 86 MB
   * (page-cached) costs ~40 ms with crc32 (~70 ms sha256) on an idle 2-core dev machine and
   * 110–250 ms when it is busy, against a whole cached start of ~170 ms (docs/benchmarks.md) and
   * ~0.2 ms for this check; it grows with the model (4.5 GB for dinov2-giant). Any write to the file
   * changes its mtime; damage that keeps size and mtime (the disk's own) is not caught.
   */
  data: { size: number; mtimeNs: string } | null;
}

/** A model written as `model.onnx` + `model.data` in a private temporary folder. */
export interface ExternalModelFiles {
  modelPath: string;
  /** Removes the folder (idempotent). */
  remove(): void;
}

export const nodeRuntime = {
  /**
   * Writes `parts` as an ONNX model with its initializers of 1 KiB or more in an external data file
   * beside it, one write per tensor (the weights are never gathered into one buffer, and the graph
   * itself stays small whatever the weights weigh). The folder is removed again if anything fails.
   */
  writeExternalModel(parts: GraphParts): ExternalModelFiles {
    const dir = mkdtempSync(join(tmpdir(), 'vitkit-'));
    const remove = () => rmSync(dir, { recursive: true, force: true });
    try {
      const layout = layoutExternalData(parts, { location: EXTERNAL_DATA_FILE });
      const fd = openSync(join(dir, EXTERNAL_DATA_FILE), 'w');
      try {
        for (const slice of layout.slices) {
          let done = 0;
          while (done < slice.data.byteLength) {
            done += writeSync(fd, slice.data, done, slice.data.byteLength - done, slice.offset + done);
          }
        }
        ftruncateSync(fd, layout.byteLength);
      } finally {
        closeSync(fd);
      }
      writeFileSync(join(dir, 'model.onnx'), encodeModel(layout.parts));
      return { modelPath: join(dir, 'model.onnx'), remove };
    } catch (cause) {
      remove();
      throw cause;
    }
  },

  /**
   * A full garbage collection, now. onnxruntime's allocations are invisible to V8, so while a session
   * loads V8 sees no reason to collect, and weights JS has already let go of would stay resident next
   * to onnxruntime's copy of them. Costs a few milliseconds on a heap that holds little else.
   */
  collectGarbage(): void {
    collect ??= exposedGc();
    collect();
  },

  /** Every core Node may use (os.availableParallelism honours affinity masks and cgroup limits). */
  availableCores(): number {
    return typeof availableParallelism === 'function' ? availableParallelism() : Math.max(1, cpus().length);
  },

  /**
   * onnxruntime's optimized graph, cached on disk under a key of `key` (with `model`'s bytes when the
   * key does not name the graph itself) and the CPU (optimized graphs hold layouts chosen for its
   * instruction set). An entry is a folder: the graph, and its weights in an external data file
   * that onnxruntime memory-maps instead of copying them out of the model's bytes.
   * Writes are atomic: a temporary folder renamed into place once the session has loaded.
   */
  optimizedModel(key: Record<string, unknown>, model: Uint8Array | readonly Uint8Array[] | undefined, dir?: string): OptimizedModelEntry {
    const root = dir ?? defaultCacheDir();
    const hash = createHash('sha256');
    hash.update(JSON.stringify({ ...key, vitkit: vitkitVersion(), arch: arch(), cpu: cpus()[0]?.model ?? '' }));
    for (const piece of model instanceof Uint8Array ? [model] : (model ?? [])) hash.update(piece);
    const entry = join(root, hash.digest('hex').slice(0, 32));
    let cachedPath: string | undefined;
    if (existsSync(join(entry, 'model.onnx'))) {
      if (entryIntact(entry)) cachedPath = join(entry, 'model.onnx');
      else rmSync(entry, { recursive: true, force: true }); // damaged, or from before integrity records: written anew
    }
    const tmp = `${entry}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    return {
      cachedPath,
      writePath: join(tmp, 'model.onnx'),
      writeConfig: {
        optimized_model_external_initializers_file_name: ENTRY_DATA_FILE,
        optimized_model_external_initializers_min_size_in_bytes: '1024',
        // Not `save_external_prepacked_constant_initializers`: with onnxruntime 1.30 a Swin graph saved
        // with prepacked weights loads, then crashes the process on its first run.
      },
      beginWrite() {
        clearStaleWrites(root);
        mkdirSync(tmp, { recursive: true });
      },
      commit() {
        if (!existsSync(join(tmp, 'model.onnx'))) return;
        writeFileSync(join(tmp, ENTRY_INTEGRITY_FILE), JSON.stringify(integrityOf(tmp)));
        try {
          renameSync(tmp, entry);
        } catch {
          rmSync(tmp, { recursive: true, force: true }); // another process put the same entry in place first
        }
      },
      abandon() {
        rmSync(tmp, { recursive: true, force: true });
      },
      discard() {
        rmSync(entry, { recursive: true, force: true });
      },
    };
  },
};

export type NodeRuntime = typeof nodeRuntime;

let collect: (() => void) | undefined;

/** V8's `gc()`: the global one under `node --expose-gc`, else one from a context made while the flag was set. */
function exposedGc(): () => void {
  const global = (globalThis as { gc?: () => void }).gc;
  if (typeof global === 'function') return global;
  setFlagsFromString('--expose-gc');
  try {
    return runInNewContext('gc') as () => void;
  } finally {
    setFlagsFromString('--no-expose-gc'); // later contexts (a test runner's, say) stay as they were
  }
}

function integrityOf(folder: string): EntryIntegrity {
  const graph = readFileSync(join(folder, 'model.onnx'));
  const data = statSync(join(folder, ENTRY_DATA_FILE), { bigint: true, throwIfNoEntry: false });
  return {
    graph: { size: graph.byteLength, sha256: createHash('sha256').update(graph).digest('hex') },
    data: data ? { size: Number(data.size), mtimeNs: String(data.mtimeNs) } : null,
  };
}

/** Whether an entry's files are as its integrity record says they were written. */
function entryIntact(folder: string): boolean {
  try {
    const recorded = JSON.parse(readFileSync(join(folder, ENTRY_INTEGRITY_FILE), 'utf8')) as EntryIntegrity;
    const now = integrityOf(folder);
    return (
      now.graph.size === recorded.graph.size &&
      now.graph.sha256 === recorded.graph.sha256 &&
      now.data?.size === recorded.data?.size &&
      now.data?.mtimeNs === recorded.data?.mtimeNs
    );
  } catch {
    return false; // no record, or one that is not JSON
  }
}

/**
 * Removes temporary entry folders an hour old or more: their writers were killed mid-write (a live
 * write takes seconds), and each can hold hundreds of MB.
 */
function clearStaleWrites(root: string): void {
  mkdirSync(root, { recursive: true });
  const cutoff = Date.now() - STALE_WRITE_MS;
  for (const name of readdirSync(root)) {
    if (!name.endsWith('.tmp')) continue;
    try {
      if (statSync(join(root, name)).mtimeMs < cutoff) rmSync(join(root, name), { recursive: true, force: true });
    } catch {
      // removed by another process meanwhile
    }
  }
}

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
