import { VitkitError } from '../errors/vitkit-error.js';
import type { CheckpointFiles } from '../weights/load-weights.js';
import { hubFile } from './hub-download.js';
import type { HubSettings } from './hub-settings.js';
import { checkShardName } from './repo-paths.js';

/** A Hub repo's files, each downloaded into (or found in) the cache on first use. */
export function hubCheckpointFiles(repoId: string, settings: HubSettings): CheckpointFiles {
  const source = `${repoId}@${settings.revision}`;
  return {
    source,
    // Names come from shard indexes too: the same rule as local folders and the browser loader.
    optional: async (file) => {
      checkShardName(file, source);
      return hubFile(repoId, file, settings, true);
    },
    async required(file) {
      checkShardName(file, source);
      const path = await hubFile(repoId, file, settings, false);
      if (path === undefined) throw new VitkitError('HUB_NOT_FOUND', `The Hub has no ${file} in ${source}.`);
      return path;
    },
  };
}
