import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat, truncate } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { VitkitError } from '../errors/vitkit-error.js';
import { type FileRequest, hubHttpError, hubTimeout } from './hub-errors.js';
import { fetchFollowing, IdleDeadline, type RedirectRule, StallError } from './hub-fetch.js';

export interface BlobDownload {
  request: FileRequest;
  /** Where the bytes are (the CDN for LFS files). */
  url: string;
  /** The token, and the one origin it may go to (redirects are followed, the token is not). */
  auth: Pick<RedirectRule, 'token' | 'tokenOrigin'>;
  /** How long the server may send nothing, before the headers or between chunks (HF_HUB_DOWNLOAD_TIMEOUT). */
  timeoutMs: number;
  /** The first wait between attempts, doubling after each (default 100 ms). */
  retryBaseMs?: number;
  etag: string;
  expectedSize?: number;
  incompletePath: string;
  blobPath: string;
  onProgress?: (loaded: number, total: number | undefined) => void;
}

/** Attempts per file: the first plus resumptions after dropped connections. */
export const MAX_DOWNLOAD_ATTEMPTS = 5;

/**
 * Streams a file into `<blob>.incomplete`, resuming with a `Range` request where a dropped
 * connection left off (also across processes: a leftover `.incomplete` is resumed, as
 * huggingface_hub does), verifies it against its etag, and only then renames it to the blob
 * name. A blob that exists is therefore always whole and verified.
 */
export async function downloadBlob(download: BlobDownload): Promise<void> {
  await mkdir(dirname(download.incompletePath), { recursive: true });
  let lastError: unknown;
  for (let attempt = 1; attempt <= MAX_DOWNLOAD_ATTEMPTS; attempt++) {
    try {
      await fetchRemainder(download);
      lastError = undefined;
      break;
    } catch (error) {
      if (error instanceof VitkitError) throw error;
      lastError = error;
      if (attempt < MAX_DOWNLOAD_ATTEMPTS) await sleep((download.retryBaseMs ?? 100) * 2 ** (attempt - 1));
    }
  }
  const { request } = download;
  // The partial file stays in both cases: the next call resumes from it.
  if (lastError instanceof StallError) throw hubTimeout(request, 'download', download.timeoutMs, lastError, MAX_DOWNLOAD_ATTEMPTS);
  if (lastError !== undefined) {
    throw new VitkitError(
      'HUB_DOWNLOAD_INTERRUPTED',
      `Downloading ${request.file} from ${request.repoId} failed ${MAX_DOWNLOAD_ATTEMPTS} times (${describe(lastError)}). Check the connection and run again; the download resumes where it stopped.`,
      { cause: lastError },
    );
  }
  await verifyBlob(download);
  await rename(download.incompletePath, download.blobPath);
}

/** One GET for whatever the `.incomplete` file still lacks. */
async function fetchRemainder(download: BlobDownload): Promise<void> {
  let have = await sizeOf(download.incompletePath);
  const { expectedSize } = download;
  if (expectedSize !== undefined && have > expectedSize) {
    await truncate(download.incompletePath, 0);
    have = 0;
  }
  if (expectedSize !== undefined && have === expectedSize) return;
  const headers: Record<string, string> = { 'accept-encoding': 'identity' };
  if (have > 0) headers.range = `bytes=${have}-`;
  const deadline = new IdleDeadline(download.timeoutMs);
  try {
    const { response } = await fetchFollowing(
      download.url,
      { headers, signal: deadline.signal },
      { ...download.auth, follow: 'all' },
      `${download.request.endpoint} (download of ${download.request.file} in ${download.request.repoId})`,
    );
    if (response.status === 416 && have > 0) {
      // The server says there is nothing past `have`: the file is whole (verification will tell).
      await response.body?.cancel();
      return;
    }
    if (response.status < 200 || response.status >= 300) {
      await response.body?.cancel();
      throw hubHttpError(download.request, response.status, response.headers);
    }
    const start = response.status === 206 ? contentRangeStart(response.headers.get('content-range')) : 0;
    if (start === undefined || (start !== 0 && start !== have)) {
      // A range that is not the one asked for: start over on the next attempt rather than misplace bytes.
      await response.body?.cancel();
      await truncate(download.incompletePath, 0);
      throw new Error(`the server sent a range starting at ${start ?? 'an unstated byte'} instead of ${have}`);
    }
    // A server that ignores Range sends the whole file again: start over rather than append it.
    if (start === 0 && have > 0) {
      await truncate(download.incompletePath, 0);
      have = 0;
    }
    await appendBody(download, response, have, deadline);
  } catch (error) {
    if (deadline.fired) throw new StallError(download.timeoutMs);
    throw error;
  } finally {
    deadline.stop();
  }
}

/** Streams the body onto the `.incomplete` file; never writes past the announced size. */
async function appendBody(download: BlobDownload, response: Response, have: number, deadline: IdleDeadline): Promise<void> {
  const { expectedSize } = download;
  const file = await open(download.incompletePath, 'a');
  let loaded = have;
  let overrun = false;
  try {
    const reader = response.body?.getReader();
    for (;;) {
      const chunk = await reader?.read();
      if (!chunk || chunk.done) break;
      deadline.touch();
      if (expectedSize !== undefined && loaded + chunk.value.byteLength > expectedSize) {
        overrun = true;
        await reader?.cancel().catch(() => {});
        break;
      }
      await file.write(chunk.value);
      loaded += chunk.value.byteLength;
      download.onProgress?.(loaded, expectedSize);
    }
  } finally {
    await file.close();
  }
  if (overrun) {
    await rm(download.incompletePath, { force: true });
    throw new VitkitError(
      'HUB_CHECKSUM_MISMATCH',
      `${download.request.file} from ${download.request.repoId} is longer than the ${expectedSize} bytes the Hub announced. Nothing was cached; run again, and if it repeats, a proxy or mirror (HF_ENDPOINT) is altering files.`,
    );
  }
  if (expectedSize !== undefined && loaded < expectedSize) {
    throw new Error(`connection closed after ${loaded} of ${expectedSize} bytes`);
  }
}

/**
 * The etag is the content hash: a 64-hex etag is the sha256 of an LFS file, a 40-hex one the git
 * blob id of a regular file (sha1 of `blob <size>\0` + contents). Other etags (non-Hub servers) are
 * checked by size only.
 */
async function verifyBlob(download: BlobDownload): Promise<void> {
  const { request, etag, expectedSize, incompletePath } = download;
  const size = await sizeOf(incompletePath);
  let problem: string | undefined;
  if (expectedSize !== undefined && size !== expectedSize) {
    problem = `${size} bytes arrived but the Hub announced ${expectedSize}`;
  } else if (/^[0-9a-f]{64}$/.test(etag)) {
    const actual = await hashFile(incompletePath, 'sha256');
    if (actual !== etag) problem = `its sha256 is ${actual}, expected ${etag}`;
  } else if (/^[0-9a-f]{40}$/.test(etag)) {
    const actual = await hashFile(incompletePath, 'sha1', `blob ${size}\0`);
    if (actual !== etag) problem = `its git blob id is ${actual}, expected ${etag}`;
  }
  if (problem) {
    await rm(incompletePath, { force: true });
    throw new VitkitError(
      'HUB_CHECKSUM_MISMATCH',
      `${request.file} from ${request.repoId} (revision "${request.revision}") is corrupt: ${problem}. Nothing was cached; run again, and if it repeats, a proxy or mirror (HF_ENDPOINT) is altering files.`,
    );
  }
}

async function hashFile(path: string, algorithm: 'sha256' | 'sha1', prefix = ''): Promise<string> {
  const hash = createHash(algorithm).update(prefix);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

function contentRangeStart(header: string | null): number | undefined {
  const match = header?.match(/^bytes (\d+)-/);
  return match ? Number(match[1]) : undefined;
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message;
}
