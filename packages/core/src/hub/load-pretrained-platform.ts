// The public `loadPretrained` / `downloadPretrained`: one declaration for both platforms, with the
// implementation picked by '#platform' (Node: local folders + the Hugging Face cache; browsers:
// fetch from a base URL or the Hub). Wrapping instead of re-exporting keeps '#platform' out of the
// published .d.ts files, which then type-check the same for every consumer.
import * as platform from '#platform';
import type { DownloadedCheckpoint, PretrainedFiles, PretrainedOptions } from './load-pretrained-types.js';

/**
 * What every family's `fromPretrained` calls: a checkpoint's config, optional preprocessor config
 * and weights. In Node `idOrPath` is a local folder (as `save_pretrained` writes it) or a Hub id,
 * downloaded into the Hugging Face cache shared with Python. In browsers it is a base URL
 * (absolute, or starting with `/`, `./`, `../`) or a Hub id, fetched (Hub files kept in the Cache API).
 */
export function loadPretrained(idOrPath: string, options?: PretrainedOptions): Promise<PretrainedFiles> {
  return platform.loadPretrained(idOrPath, options);
}

/**
 * Fetches everything `loadPretrained` needs without parsing the weights: into the Hugging Face
 * cache in Node (for `vitkit download`, or before going offline), into the Cache API in browsers.
 */
export function downloadPretrained(idOrPath: string, options?: PretrainedOptions): Promise<DownloadedCheckpoint> {
  return platform.downloadPretrained(idOrPath, options);
}
