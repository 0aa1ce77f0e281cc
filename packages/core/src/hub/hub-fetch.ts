// fetch with the rules every Hub request (Node's cache downloads, the browser loader) and every
// image download share: redirects resolved the way the URL standard resolves them, the token sent
// to its own origin only, and a deadline that ends a silent server. No Node imports here.
import { VitkitError } from '../errors/vitkit-error.js';

/** huggingface_hub's DEFAULT_ETAG_TIMEOUT and DEFAULT_DOWNLOAD_TIMEOUT (10 s each), for Node and the browser alike. */
export const DEFAULT_ETAG_TIMEOUT_MS = 10_000;
export const DEFAULT_DOWNLOAD_TIMEOUT_MS = 10_000;

/** A redirect chain longer than this is a loop (Node's fetch allows 20; the Hub needs one or two). */
const MAX_REDIRECTS = 10;

/** Raised inside a request when the server sent nothing for the allowed time; callers make it a typed error. */
export class StallError extends Error {
  constructor(readonly ms: number) {
    super(`no data for ${ms / 1000} s`);
  }
}

/**
 * A timeout that restarts whenever data arrives (`touch`): requests' read timeout, which is what
 * huggingface_hub's HF_HUB_DOWNLOAD_TIMEOUT is. Without `touch` it is a plain deadline, as for the
 * metadata request. Aborting rejects the pending fetch or body read with a StallError.
 */
export class IdleDeadline {
  private readonly controller = new AbortController();
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(readonly ms: number) {
    this.touch();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** True once the deadline passed (whatever error the aborted call then reported). */
  get fired(): boolean {
    return this.controller.signal.aborted;
  }

  touch(): void {
    this.stop();
    this.timer = setTimeout(() => this.controller.abort(new StallError(this.ms)), this.ms);
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

export interface RedirectRule {
  /** The origin the token belongs to (the Hub endpoint's): never sent anywhere else. */
  tokenOrigin?: string;
  token?: string;
  /**
   * `same-origin`: follow redirects that stay on the origin and return the first that leaves it,
   * unfollowed, as huggingface_hub's metadata request does (the LFS CDN link is the answer);
   * `all`: follow every redirect.
   */
  follow: 'same-origin' | 'all';
}

export interface Fetched {
  response: Response;
  /** The URL that answered. */
  url: string;
  /** For an unfollowed redirect: its target, resolved against `url`. */
  location?: string;
}

/**
 * fetch, following redirects itself (`redirect: 'manual'`) so that each `Location` is resolved
 * with `new URL(location, current)` exactly as a browser would, and the Authorization header is
 * added per hop only where the hop's origin is the token's. `/\host/`, `\\host/` or `/<TAB>/host/`
 * therefore count as the other host they are. Where the runtime hides redirects (browsers answer
 * `opaqueredirect`), the request is repeated with `redirect: 'follow'`; the Fetch standard then
 * drops Authorization on a cross-origin hop itself.
 */
export async function fetchFollowing(
  url: string,
  init: { method?: string; headers?: Record<string, string>; signal?: AbortSignal },
  rule: RedirectRule,
  what: string,
): Promise<Fetched> {
  let current = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const headers = { ...init.headers, ...authorizationFor(current, rule) };
    const response = await fetch(current, { ...init, headers, redirect: 'manual' });
    if (response.type === 'opaqueredirect') {
      const followed = await fetch(current, { ...init, headers, redirect: 'follow' });
      return { response: followed, url: followed.url || current };
    }
    const location = response.headers.get('location');
    if (response.status < 300 || response.status >= 400 || location === null) return { response, url: current };
    await response.body?.cancel().catch(() => {});
    const next = resolveRedirect(location, current, what);
    if (rule.follow === 'same-origin' && new URL(next).origin !== new URL(current).origin) {
      return { response, url: current, location: next };
    }
    current = next;
  }
  throw new VitkitError('HUB_HTTP_ERROR', `${what}: the server redirected more than ${MAX_REDIRECTS} times (a redirect loop).`);
}

/** `Location` resolved as the URL standard does; only http(s) targets are followed. */
function resolveRedirect(location: string, base: string, what: string): string {
  let target: URL | undefined;
  try {
    target = new URL(location, base);
  } catch {
    target = undefined;
  }
  if (target?.protocol !== 'http:' && target?.protocol !== 'https:') {
    throw new VitkitError('HUB_HTTP_ERROR', `${what}: the server redirected to ${JSON.stringify(location)}, which is not an http(s) URL.`);
  }
  return target.href;
}

/** The Authorization header for `url`: present only when the token has an origin and `url` is on it. */
function authorizationFor(url: string, rule: Pick<RedirectRule, 'token' | 'tokenOrigin'>): Record<string, string> {
  if (!rule.token || rule.tokenOrigin === undefined) return {};
  return new URL(url).origin === rule.tokenOrigin ? { authorization: `Bearer ${rule.token}` } : {};
}

/** Declared lengths up to this are read into one buffer allocated up front (see readBodyWithin). */
const MAX_PREALLOCATED_BODY = 2 ** 32;

/**
 * Reads a whole body, restarting `deadline` at each chunk; `onChunk` sees the running total. When
 * the response declares its length, chunks are copied into one buffer of that size as they come, so
 * the body is never held twice (chunks, then their concatenation): 88 MB less at the peak for
 * dinov2-small's weights. The declared length is not trusted for memory: an ArrayBuffer's pages are
 * committed only as they are written, and a body longer than declared falls back to chunks.
 */
export async function readBodyWithin(response: Response, deadline: IdleDeadline, onChunk?: (loaded: number) => void): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length'));
  let buffer: Uint8Array | undefined;
  if (Number.isSafeInteger(declared) && declared > 0 && declared <= MAX_PREALLOCATED_BODY) {
    try {
      buffer = new Uint8Array(declared);
    } catch {
      buffer = undefined; // more than this engine allocates at once: read in chunks
    }
  }
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  const reader = response.body?.getReader();
  for (;;) {
    const chunk = await reader?.read();
    if (!chunk || chunk.done) break;
    deadline.touch();
    if (buffer && loaded + chunk.value.byteLength <= buffer.byteLength) buffer.set(chunk.value, loaded);
    else {
      // Longer than declared (a compressed body's length, or a lying server): keep what came as chunks.
      if (buffer) chunks.push(buffer.subarray(0, loaded));
      buffer = undefined;
      chunks.push(chunk.value);
    }
    loaded += chunk.value.byteLength;
    onChunk?.(loaded);
  }
  if (buffer) return loaded === buffer.byteLength ? buffer : buffer.subarray(0, loaded);
  if (chunks.length === 1) return chunks[0];
  const bytes = new Uint8Array(loaded);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  return bytes;
}
