import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

/**
 * A Hugging Face Hub stand-in on 127.0.0.1 that answers the way huggingface.co does, so the real
 * download code runs against real HTTP:
 *
 *   HEAD/GET /{repo}/resolve/{revision}/{file}
 *     regular files: 200, ETag = git blob sha1, X-Repo-Commit
 *     LFS files:     302 to an absolute http://127.0.0.1:<cdn port>/cdn/<sha256> URL (a second
 *                    server, so a different origin, as the real CDN is), with X-Linked-Etag
 *                    (the sha256), X-Linked-Size and X-Repo-Commit; its own ETag is something else,
 *                    as the real Hub's is, so a client that reads the wrong header caches wrongly
 *     errors:        401 for private repos without the token (and for unknown repos, as the Hub
 *                    answers anonymous callers), 404 + X-Error-Code EntryNotFound / RevisionNotFound
 *   GET /cdn/<sha256>  the bytes, with Range support (206 + Content-Range)
 *
 * Faults are switched on per file: drop the connection part-way, serve corrupted bytes, go silent
 * (never answer a HEAD, or stop mid-body with the connection left open), or send the LFS redirect
 * with a Location written in some other form.
 */

export interface FakeRepo {
  commit: string;
  files: Record<string, Uint8Array>;
  /** When set, requests need `Authorization: Bearer <token>`. */
  token?: string;
  /** Answer 401 with X-Error-Code GatedRepo instead of a plain 401. */
  gated?: boolean;
  /** Answer every revision (not just `main` and the commit) with this repo's commit, as a hostile or broken server might. */
  anyRevision?: boolean;
}

export interface RecordedRequest {
  method: string;
  /** Which of the two servers (two origins) got it. */
  server: 'hub' | 'cdn';
  path: string;
  range?: string;
  authorization?: string;
}

export interface FakeHub {
  endpoint: string;
  requests: RecordedRequest[];
  /** The next `times` GETs of `file` send `afterBytes` bytes (from where the request starts) and then cut the connection. */
  dropConnection(file: string, afterBytes: number, times?: number): void;
  /** GETs of `file` send bytes that do not match its hash. */
  corrupt(file: string): void;
  /** Delays every body chunk, so two clients overlap. */
  throttle(msPerChunk: number, chunkBytes?: number): void;
  /**
   * The next `times` requests for `file` go silent with the connection left open: `head` never
   * answers the HEAD; `body` sends the headers and `afterBytes` bytes of the GET, then nothing.
   */
  stall(file: string, phase: 'head' | 'body', options?: { afterBytes?: number; times?: number }): void;
  /** The LFS redirect's Location, written from the CDN's `host:port` and the blob's path (default: an absolute http URL). */
  lfsLocation(format: (hostPort: string, path: string) => string): void;
  close(): Promise<void>;
}

/** Files served through the LFS redirect, as the Hub does for weights. */
export function isLfsFile(name: string): boolean {
  return /\.(safetensors|bin|onnx|msgpack|h5)$/.test(name);
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function gitBlobSha1(bytes: Uint8Array): string {
  return createHash('sha1').update(`blob ${bytes.byteLength}\0`).update(bytes).digest('hex');
}

/** Every file of a fixture folder, as a repo would hold them. */
export function filesOf(dir: string, only?: string[]): Record<string, Uint8Array> {
  const files: Record<string, Uint8Array> = {};
  for (const name of readdirSync(dir)) {
    if (only && !only.includes(name)) continue;
    const path = join(dir, name);
    if (statSync(path).isFile()) files[name] = new Uint8Array(readFileSync(path));
  }
  return files;
}

export async function startFakeHub(repos: Record<string, FakeRepo>): Promise<FakeHub> {
  const requests: RecordedRequest[] = [];
  const drops = new Map<string, { afterBytes: number; times: number }>();
  const corrupted = new Set<string>();
  let throttle: { ms: number; chunk: number } | undefined;
  const stalls = new Map<string, { phase: 'head' | 'body'; afterBytes: number; times: number }>();
  let lfsLocation = (hostPort: string, path: string) => `http://${hostPort}${path}`;
  const byHash = new Map<string, { file: string; bytes: Uint8Array }>();
  for (const repo of Object.values(repos)) {
    for (const [file, bytes] of Object.entries(repo.files)) byHash.set(sha256(bytes), { file, bytes });
  }

  const listener = (which: 'hub' | 'cdn') => (req: IncomingMessage, res: ServerResponse) => {
    requests.push({
      method: req.method ?? '',
      server: which,
      path: req.url ?? '',
      range: req.headers.range,
      authorization: req.headers.authorization,
    });
    handle(req, res).catch((error) => {
      res.statusCode = 500;
      res.end(String(error));
    });
  };
  const server: Server = createServer(listener('hub'));
  const cdn: Server = createServer(listener('cdn'));

  /** True (and counted) when this request for `file` is to go silent in `phase`. */
  function stallNow(file: string, phase: 'head' | 'body'): { afterBytes: number } | undefined {
    const stall = stalls.get(file);
    if (!stall || stall.phase !== phase || stall.times <= 0) return undefined;
    stall.times--;
    return stall;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname.startsWith('/cdn/')) {
      const entry = byHash.get(url.pathname.slice('/cdn/'.length));
      if (!entry) return end(res, 404, {});
      return serveBytes(req, res, entry.file, entry.bytes, { etag: '"cdn-object-etag"' });
    }
    // Segments are decoded one by one, so an encoded "/" in a revision stays inside it.
    const match = /^\/([^/]+)\/([^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    if (!match) return end(res, 404, {});
    const [org, name, revision, file] = match.slice(1).map((part) => part.split('/').map(decodeURIComponent).join('/'));
    const repoId = `${org}/${name}`;
    const repo = repos[repoId];
    if (!repo) return end(res, 401, { 'x-error-code': 'RepoNotFound' });
    if (repo.token && req.headers.authorization !== `Bearer ${repo.token}`) {
      return end(res, 401, repo.gated ? { 'x-error-code': 'GatedRepo' } : { 'x-error-code': 'RepoNotFound' });
    }
    if (revision !== 'main' && revision !== repo.commit && !repo.anyRevision) return end(res, 404, { 'x-error-code': 'RevisionNotFound' });
    const bytes = repo.files[file];
    if (!bytes) return end(res, 404, { 'x-error-code': 'EntryNotFound', 'x-repo-commit': repo.commit });
    if (req.method === 'HEAD' && stallNow(file, 'head')) return; // never answered
    if (isLfsFile(file)) {
      const port = (cdn.address() as AddressInfo).port;
      return end(res, 302, {
        location: lfsLocation(`127.0.0.1:${port}`, `/cdn/${sha256(bytes)}`),
        'x-repo-commit': repo.commit,
        'x-linked-etag': `"${sha256(bytes)}"`,
        'x-linked-size': String(bytes.byteLength),
        etag: `"${gitBlobSha1(new TextEncoder().encode('lfs pointer'))}"`,
      });
    }
    return serveBytes(req, res, file, bytes, { etag: `"${gitBlobSha1(bytes)}"`, 'x-repo-commit': repo.commit });
  }

  async function serveBytes(
    req: IncomingMessage,
    res: ServerResponse,
    file: string,
    original: Uint8Array,
    headers: Record<string, string>,
  ): Promise<void> {
    let bytes = original;
    if (corrupted.has(file)) {
      bytes = new Uint8Array(original);
      bytes[bytes.length >> 1] ^= 0xff;
    }
    let start = 0;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range) {
      start = Number(range[1]);
      if (start >= bytes.length) return end(res, 416, { 'content-range': `bytes */${bytes.length}` });
    }
    const body = bytes.subarray(start);
    res.writeHead(range ? 206 : 200, {
      ...headers,
      'accept-ranges': 'bytes',
      'content-length': String(body.length),
      ...(range ? { 'content-range': `bytes ${start}-${bytes.length - 1}/${bytes.length}` } : {}),
    });
    if (req.method === 'HEAD') return void res.end();
    const stall = req.method === 'GET' ? stallNow(file, 'body') : undefined;
    if (stall) {
      // Some bytes, then silence on an open connection (closed only by the client or close()).
      res.write(body.subarray(0, Math.min(stall.afterBytes, body.length)));
      return;
    }
    const drop = req.method === 'GET' ? drops.get(file) : undefined;
    const limit = drop && drop.times > 0 ? Math.min(drop.afterBytes, body.length) : body.length;
    if (drop && drop.times > 0) drop.times--;
    const chunk = throttle?.chunk ?? 64 * 1024;
    let flushed: Promise<unknown> = Promise.resolve();
    for (let at = 0; at < limit; at += chunk) {
      if (throttle) await new Promise((r) => setTimeout(r, throttle?.ms));
      if (res.destroyed) return;
      flushed = new Promise((r) => res.write(body.subarray(at, Math.min(at + chunk, limit)), r));
    }
    if (limit < body.length) {
      // Once the partial bytes are handed to the socket (they still reach the client, however
      // loaded the machine), cut the connection mid-body.
      await flushed;
      await new Promise((r) => setTimeout(r, 20));
      res.socket?.destroy();
      return;
    }
    res.end();
  }

  function end(res: ServerResponse, status: number, headers: Record<string, string>): void {
    res.writeHead(status, headers);
    res.end();
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  await new Promise<void>((resolve) => cdn.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    dropConnection(file, afterBytes, times = 1) {
      drops.set(file, { afterBytes, times });
    },
    corrupt(file) {
      corrupted.add(file);
    },
    throttle(ms, chunkBytes = 8 * 1024) {
      throttle = { ms, chunk: chunkBytes };
    },
    stall(file, phase, { afterBytes = 0, times = Number.POSITIVE_INFINITY } = {}) {
      stalls.set(file, { phase, afterBytes, times });
    },
    lfsLocation(format) {
      lfsLocation = format;
    },
    close: async () => {
      for (const s of [server, cdn]) {
        s.closeAllConnections();
        await new Promise<void>((resolve) => s.close(() => resolve()));
      }
    },
  };
}
