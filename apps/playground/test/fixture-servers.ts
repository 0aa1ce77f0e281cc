// The two servers the browser tests use, both on 127.0.0.1: the built playground (dist/, cross-
// origin isolated as a page that wants wasm threads must be, plus fixture checkpoints under
// /models/<name>/ for loading by URL), and a Hugging Face Hub stand-in on another origin that
// answers /{repo}/resolve/{revision}/{file} as huggingface.co does (weights through a 302 to a
// /cdn/ URL, ETags, CORS headers so the page may read them).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve } from 'node:path';

/** The files of a checkpoint folder vitkit reads: config, processor, weights, and a tokenizer's side files. */
const CHECKPOINT_FILES = new Set([
  'config.json',
  'preprocessor_config.json',
  'processor_config.json',
  'model.safetensors',
  'tokenizer_config.json',
  'tokenizer.json',
  'vocab.txt',
]);

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
};

export interface RunningServer {
  url: string;
  /** Every request path, in order (to check what the page fetched). */
  requests: string[];
  close(): Promise<void>;
}

async function listen(server: Server, requests: string[]): Promise<RunningServer> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** dist/ at /, and each of `models` (name → fixture folder) at /models/<name>/. */
export function servePlayground(dist: string, models: Record<string, string>): Promise<RunningServer> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    requests.push(path);
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    res.setHeader('Cache-Control', 'no-store');
    const model = path.match(/^\/models\/([^/]+)\/([^/]+)$/);
    let file: string | undefined;
    if (model) {
      const dir = models[model[1]];
      if (dir && CHECKPOINT_FILES.has(model[2])) file = join(dir, model[2]);
    } else {
      const candidate = normalize(join(dist, path === '/' ? 'index.html' : path));
      if (candidate.startsWith(resolve(dist))) file = candidate;
    }
    if (!file || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  return listen(server, requests);
}

export interface HubRepo {
  dir: string;
  /** Replaces preprocessor_config.json's keys (e.g. a smaller DETR resize, so wasm runs take seconds). */
  processorOverrides?: Record<string, unknown>;
}

/** A Hub stand-in: `repos` maps a repo id (`org/name`) to a fixture folder, served at revision `main`. */
export function serveHub(repos: Record<string, HubRepo>): Promise<RunningServer> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    requests.push(path);
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Allow-Headers', 'authorization, range');
    res.setHeader('Access-Control-Expose-Headers', 'etag, x-repo-commit, x-linked-etag, x-linked-size, content-length');
    res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
    if (req.method === 'OPTIONS') {
      res.writeHead(204).end();
      return;
    }
    const resolveMatch = path.match(/^\/([^/]+\/[^/]+)\/resolve\/main\/([^/]+)$/);
    const cdnMatch = path.match(/^\/cdn\/([^/]+\/[^/]+)\/([^/]+)$/);
    const match = resolveMatch ?? cdnMatch;
    const repo = match ? repos[match[1]] : undefined;
    const file = match && repo && CHECKPOINT_FILES.has(match[2]) ? join(repo.dir, match[2]) : undefined;
    if (!file || !existsSync(file)) {
      res.writeHead(404, { 'content-type': 'text/plain', 'x-error-code': 'EntryNotFound' }).end('Entry not found');
      return;
    }
    if (resolveMatch && file.endsWith('.safetensors')) {
      // As huggingface.co sends LFS files: a redirect to the CDN.
      res.writeHead(302, { location: `/cdn/${match![1]}/${match![2]}`, 'x-repo-commit': '0'.repeat(40) }).end();
      return;
    }
    let body = readFileSync(file);
    if (match![2] === 'preprocessor_config.json' && repo!.processorOverrides) {
      body = Buffer.from(JSON.stringify({ ...JSON.parse(body.toString('utf8')), ...repo!.processorOverrides }));
    }
    // An ETag as the Hub sends (a validator: vitkit caches a compiled graph only for files that have one).
    const etag = `"${createHash('sha256').update(body).digest('hex')}"`;
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': String(body.length),
      etag,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  return listen(server, requests);
}
