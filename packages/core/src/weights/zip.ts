import { unzipSync } from 'fflate';
import { VitkitError } from '../errors/vitkit-error.js';

/** `PK\x03\x04`: every zip starts with a local file header. */
const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];

export function looksLikeZip(bytes: Uint8Array): boolean {
  return ZIP_MAGIC.every((b, i) => bytes[i] === b);
}

/**
 * Reads every entry of a zip archive into memory. fflate parses the central directory (zip64
 * included, which `torch.save` writes for files over 4 GiB) and inflates deflated entries;
 * `torch.save` stores entries uncompressed, so for checkpoints this is a copy.
 */
export function readZip(bytes: Uint8Array, source: string): Map<string, Uint8Array> {
  if (!looksLikeZip(bytes)) {
    throw new VitkitError('ZIP_INVALID', `${source} is not a zip archive (it does not start with a zip header).`);
  }
  try {
    return new Map(Object.entries(unzipSync(bytes)));
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new VitkitError('ZIP_INVALID', `${source}: the zip archive is damaged or truncated (${why}); download it again.`, { cause });
  }
}
