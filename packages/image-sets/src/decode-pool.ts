import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { PreprocessorConfig } from '@vitkit/core';
import { Piscina } from 'piscina';
import { type DecodeResult, decodeForModel } from './decode-image.js';

/** Where images are decoded and preprocessed: worker threads, or the calling thread. */
export interface DecodePool {
  readonly workers: number;
  decode(bytes: Uint8Array): Promise<DecodeResult>;
  close(): Promise<void>;
}

// The compiled worker beside this module. Run from TypeScript sources (tests) it does not exist,
// and decoding stays in the calling thread, through the same decodeForModel.
const WORKER_FILE = new URL('./decode-worker.js', import.meta.url);

/** Decode workers by default: every core but the one feeding the model, at least one. */
export function defaultDecodeWorkers(): number {
  return Math.max(1, availableParallelism() - 1);
}

/** The worker module and the flags its threads start with (tests run the TypeScript one through a loader). */
export interface WorkerEntry {
  file: URL;
  execArgv?: string[];
}

export function createDecodePool(
  config: PreprocessorConfig,
  workers = defaultDecodeWorkers(),
  entry: WorkerEntry = { file: WORKER_FILE },
): DecodePool {
  if (workers <= 0 || !existsSync(fileURLToPath(entry.file))) {
    return { workers: 0, decode: (bytes) => decodeForModel(bytes, config), close: async () => {} };
  }
  const pool = new Piscina({
    filename: entry.file.href,
    minThreads: workers,
    maxThreads: workers,
    idleTimeout: 60_000,
    ...(entry.execArgv ? { execArgv: entry.execArgv } : {}),
  });
  return {
    workers,
    decode: (bytes) => {
      // The bytes move to the worker rather than being copied, unless they share a buffer with others.
      const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
      const sent = own ? bytes : bytes.slice();
      return pool.run({ bytes: sent, config }, { transferList: [sent.buffer as ArrayBuffer] });
    },
    close: () => pool.destroy(),
  };
}
