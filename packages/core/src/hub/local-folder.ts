import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { VitkitError } from '../errors/vitkit-error.js';
import type { CheckpointFiles } from '../weights/load-weights.js';
import { checkShardName } from './repo-paths.js';

/** True when `path` is an existing directory (so `fromPretrained` treats it as a local checkpoint). */
export async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** Checkpoint files in a local folder, as `save_pretrained` writes them. */
export function localFolderFiles(dir: string): CheckpointFiles {
  const optional = async (file: string): Promise<string | undefined> => {
    // Names come from shard indexes too: the same rule as the Hub and the browser loader.
    checkShardName(file, dir);
    const path = join(dir, file);
    try {
      return (await stat(path)).isFile() ? path : undefined;
    } catch {
      return undefined;
    }
  };
  return {
    source: dir,
    optional,
    async required(file) {
      const path = await optional(file);
      if (path === undefined) {
        throw new VitkitError(
          'FILE_NOT_FOUND',
          `${dir} has no ${file}. Is the folder a complete checkpoint (as save_pretrained writes it)?`,
        );
      }
      return path;
    },
  };
}
