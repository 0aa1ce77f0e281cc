import { VitkitError } from '../errors/vitkit-error.js';
import type { CheckpointFiles } from '../weights/load-weights.js';
import { hubFile } from './hub-download.js';
import type { HubSettings } from './hub-settings.js';

/** A Hub repo's files, each downloaded into (or found in) the cache on first use. */
export function hubCheckpointFiles(repoId: string, settings: HubSettings): CheckpointFiles {
  const source = `${repoId}@${settings.revision}`;
  return {
    source,
    optional: (file) => hubFile(repoId, file, settings, true),
    async required(file) {
      const path = await hubFile(repoId, file, settings, false);
      if (path === undefined) throw new VitkitError('HUB_NOT_FOUND', `The Hub has no ${file} in ${source}.`);
      return path;
    },
  };
}
