import { VitkitError } from '../errors/vitkit-error.js';

/**
 * A checkpoint file read by range, so a reader never needs it whole: a file of any size (over the
 * 2 GiB a single Node buffer read allows) or a buffer already in memory (the browser path).
 */
export interface ByteSource {
  /** Names the file in error messages. */
  readonly source: string;
  /** Total bytes, as they were when the source was opened. */
  readonly size: number;
  /**
   * `length` bytes from `offset`. Throws WEIGHTS_TRUNCATED when the range runs past the end. An
   * in-memory source returns a view (no copy); a file source returns fresh bytes.
   */
  read(offset: number, length: number): Uint8Array;
}

/** A source over bytes in memory; reads are views into them. */
export function bytesSource(bytes: Uint8Array, source: string): ByteSource {
  return {
    source,
    size: bytes.byteLength,
    read(offset, length) {
      checkRange(offset, length, bytes.byteLength, source);
      return bytes.subarray(offset, offset + length);
    },
  };
}

/** Refuses a read outside `[0, size)`: every caller's offsets come from the file itself. */
export function checkRange(offset: number, length: number, size: number, source: string): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
    throw new VitkitError(
      'WEIGHTS_TRUNCATED',
      `${source}: needs bytes ${offset}…${offset + length} but the file has ${size}; the file is truncated or damaged.`,
    );
  }
}

/** One typed array holds at most 4 GiB (Node 20; the limit depends on the engine), so a larger tensor cannot be loaded. */
export function allocateBytes(length: number, source: string): Uint8Array {
  try {
    return new Uint8Array(length);
  } catch (cause) {
    throw new VitkitError(
      'WEIGHTS_TOO_LARGE',
      `${source}: a tensor of ${length} bytes is larger than one JavaScript typed array can hold; split it, or store it in a lower precision.`,
      { cause },
    );
  }
}
