import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { VitkitError } from '@vitkit/core';

/**
 * Writes via a temp file and rename, so an interrupted run never leaves a half-written output.
 * Missing parent folders are created unless `createFolders` is false (then that is an error).
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string, options: { createFolders?: boolean } = {}): Promise<void> {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.partial`;
  try {
    if (options.createFolders ?? true) await mkdir(dirname(path), { recursive: true });
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (cause) {
    await rm(tmp, { force: true });
    throw new VitkitError('INVALID_ARGUMENT', `Could not write ${path}: ${(cause as Error).message}`, { cause });
  }
}
