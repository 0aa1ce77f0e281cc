import { VitkitError } from '../errors/vitkit-error.js';

/** Index files above this are refused before parsing; a 1000-shard index is well under 1 MB. */
export const MAX_SHARD_INDEX_BYTES = 100_000_000;

/**
 * A sharded checkpoint's index (`model.safetensors.index.json`, `pytorch_model.bin.index.json`):
 * its `weight_map`, tensor name → the shard file holding it. Checks the JSON's shape only; whether
 * each shard name is a safe file name is the caller's to check.
 */
export function parseShardIndex(text: string, where: string): Map<string, string> {
  let index: unknown;
  try {
    index = JSON.parse(text);
  } catch (cause) {
    throw new VitkitError('WEIGHTS_HEADER_INVALID', `${where} is not valid JSON; delete it (or the cache entry) and download again.`, {
      cause,
    });
  }
  const weightMap = isObject(index) ? index.weight_map : undefined;
  if (!isObject(weightMap)) {
    throw new VitkitError('WEIGHTS_HEADER_INVALID', `${where} has no "weight_map" object naming the shard of each tensor.`);
  }
  const shards = new Map<string, string>();
  for (const [name, shard] of Object.entries(weightMap)) {
    if (typeof shard !== 'string') {
      throw new VitkitError(
        'WEIGHTS_HEADER_INVALID',
        `${where} places "${name.slice(0, 200)}" in ${JSON.stringify(shard)?.slice(0, 200)}, which is not a file name.`,
      );
    }
    shards.set(name, shard);
  }
  return shards;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
