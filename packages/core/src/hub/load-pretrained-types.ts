// The types both sides of '#platform' share: Node's `loadPretrained` (local folders and the Hugging
// Face cache) and the browser's (fetch from a base URL or the Hub). No runtime code, no Node types.
import type { RawConfig } from '../config/model-config.js';
import type { WeightStore } from '../weights/weight-store.js';

export interface PretrainedOptions {
  /** Branch, tag or commit on the Hub (default `main`). Ignored for local folders and base URLs. */
  revision?: string;
  /** Node: Hub cache root; default `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`. Ignored in browsers. */
  cacheDir?: string;
  /**
   * Use only what is already cached (Node: also forced by `HF_HUB_OFFLINE=1`; browsers: the Cache
   * API entries an earlier `loadPretrained` stored).
   */
  localFilesOnly?: boolean;
  /** Hub access token; default `$HF_TOKEN` in Node. */
  token?: string;
  /** Called as each file downloads. */
  onProgress?: (p: { file: string; loaded: number; total?: number }) => void;
  /** Hub base URL; default `$HF_ENDPOINT` in Node, else https://huggingface.co. */
  endpoint?: string;
  /**
   * Node: milliseconds the metadata request for each file may take before the cache is used
   * instead (or, with nothing cached, a HUB_TIMEOUT error); default `$HF_HUB_ETAG_TIMEOUT`
   * seconds, else 10 s, as huggingface_hub.
   */
  etagTimeoutMs?: number;
  /**
   * Milliseconds a download may go without receiving a byte (before the headers, or between
   * chunks), then HUB_TIMEOUT. Node tries 5 times, each resuming where the last stopped; browsers
   * once. Default `$HF_HUB_DOWNLOAD_TIMEOUT` seconds in Node, else 10 s, as huggingface_hub.
   */
  downloadTimeoutMs?: number;
  /**
   * Browsers only: keep Hub downloads in the Cache API under this cache name (default
   * `'vitkit-hub'`), or `false` to always fetch. Files from a base URL are left to the HTTP cache.
   */
  browserCache?: string | false;
}

export interface PretrainedFiles {
  /** The folder path, base URL or Hub id the checkpoint came from. */
  source: string;
  /** Where the checkpoint files are: a folder (Node; for the Hub, the cache snapshot folder) or a base URL (browsers). */
  dir: string;
  config: RawConfig;
  preprocessorConfig?: RawConfig;
  weights: WeightStore;
  /**
   * Node: identifies these files (config text; each weight file's path, size and modification time)
   * so a compiled graph can be cached across processes without reading the weights. Absent in browsers.
   */
  fingerprint?: string;
  /**
   * Another file of the same checkpoint (a tokenizer's `vocab.txt`, `tokenizer.json`, …), resolved as the
   * weights were (local folder, Hub cache with download, or base URL); undefined when the checkpoint has
   * none. For the small side files a processor reads: larger than `MAX_SIDE_FILE_BYTES` (side-files.ts) is refused.
   */
  readFile?(file: string): Promise<Uint8Array | undefined>;
}

export interface DownloadedCheckpoint {
  source: string;
  /** Where the files are: a folder (Node; for the Hub, the cache snapshot folder) or a base URL (browsers). */
  dir: string;
  /** Every file `loadPretrained` will read: local paths in Node, URLs in browsers. */
  files: string[];
}
