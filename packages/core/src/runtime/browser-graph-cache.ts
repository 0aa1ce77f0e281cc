// Browsers: the ONNX graph vitkit built, kept in the Cache API across page loads, so a later load
// of the same checkpoint, size and options hands onnxruntime-web the stored bytes instead of
// building the graph in JS again. Reached only through platform/browser.ts.
import { VITKIT_VERSION } from '../version.js';

/** The Cache API cache compiled graphs go in unless `graphCache` names another. */
export const DEFAULT_GRAPH_CACHE = 'vitkit-graphs';

/** Entries kept per cache; the oldest go first (each is about the size of the model's weights). */
const MAX_ENTRIES = 8;

/** Cache API keys must be http(s) URLs; this host never resolves, and nothing is fetched from it. */
const ENTRY_ORIGIN = 'https://graph-cache.vitkit.invalid/';

export interface GraphCacheEntry {
  /** The stored graph when there is an intact one for the key. */
  read(): Promise<Uint8Array | undefined>;
  /** Stores `graph` (replacing any entry for the key); failures are swallowed: the cache is an optimization. */
  write(graph: Uint8Array): Promise<void>;
  /** Removes the entry (onnxruntime refused it). */
  discard(): Promise<void>;
}

export const browserRuntime = {
  /**
   * The entry for `key` (what the graph depends on: the checkpoint's fingerprint, the input size,
   * the options; this vitkit version is added), or undefined where there is no Cache API (an
   * insecure context, a worker without it, storage blocked).
   */
  async graphCacheEntry(key: Record<string, unknown>, cacheName = DEFAULT_GRAPH_CACHE): Promise<GraphCacheEntry | undefined> {
    if (typeof caches === 'undefined' || typeof crypto === 'undefined' || !crypto.subtle) return undefined;
    let cache: Cache;
    try {
      cache = await caches.open(cacheName);
    } catch {
      return undefined;
    }
    const fullKey = JSON.stringify({ ...key, vitkit: VITKIT_VERSION });
    const url = `${ENTRY_ORIGIN}${await sha256Hex(new TextEncoder().encode(fullKey))}`;
    return {
      async read() {
        try {
          const hit = await cache.match(url);
          if (!hit) return undefined;
          const bytes = new Uint8Array(await hit.arrayBuffer());
          // Trusted only if it is what was written for this very key: a key hash collision, a
          // truncated or altered entry is rebuilt rather than run.
          const intact =
            hit.headers.get('x-vitkit-key') === encodeURIComponent(fullKey) &&
            Number(hit.headers.get('x-vitkit-length')) === bytes.byteLength &&
            hit.headers.get('x-vitkit-sha256') === (await sha256Hex(bytes));
          if (intact) return bytes;
          await cache.delete(url);
          return undefined;
        } catch {
          return undefined;
        }
      },
      async write(graph) {
        try {
          const headers = {
            'content-type': 'application/octet-stream',
            'x-vitkit-key': encodeURIComponent(fullKey),
            'x-vitkit-length': String(graph.byteLength),
            'x-vitkit-sha256': await sha256Hex(graph),
          };
          await cache.put(url, new Response(graph as Uint8Array<ArrayBuffer>, { headers }));
          const keys = await cache.keys();
          for (const old of keys.slice(0, Math.max(0, keys.length - MAX_ENTRIES))) await cache.delete(old);
        } catch {
          // quota exceeded, storage cleared meanwhile: the next load builds the graph again
        }
      },
      async discard() {
        await cache.delete(url).catch(() => false);
      },
    };
  },
};

export type BrowserRuntime = typeof browserRuntime;

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}
