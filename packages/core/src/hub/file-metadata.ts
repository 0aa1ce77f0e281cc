import { VitkitError } from '../errors/vitkit-error.js';
import { COMMIT_HASH } from './cache-layout.js';
import { type FileRequest, hubHttpError, hubTimeout, isMissingFile } from './hub-errors.js';
import { fetchFollowing, IdleDeadline } from './hub-fetch.js';
import { encodeRepoPath } from './repo-paths.js';

/** What a HEAD on `/resolve/` tells before any byte is downloaded. */
export interface FileMetadata {
  /** The commit the revision resolves to (`X-Repo-Commit`). */
  commit: string;
  /** Content hash: sha256 for LFS files, git blob sha1 otherwise; names the blob in the cache. */
  etag: string;
  /** Bytes, when the Hub says. */
  size?: number;
  /** Where to GET the bytes: the CDN for LFS files, else the resolve URL itself. */
  location: string;
}

/** The repo and revision exist but the file does not; the commit (when sent) lets the cache record that. */
export interface MissingFile {
  missing: true;
  commit?: string;
}

export function resolveUrl(request: FileRequest): string {
  return `${request.endpoint}/${request.repoId}/resolve/${encodeURIComponent(request.revision)}/${encodeRepoPath(request.file)}`;
}

/** What a request may send and how long it may take. */
export interface RequestLimits {
  token?: string;
  etagTimeoutMs: number;
}

/**
 * HEADs the file as huggingface_hub's `get_hf_file_metadata` does: redirects within the Hub (a
 * renamed repo) are followed, but the redirect to the LFS CDN is not; its headers already carry
 * the LFS file's hash and size (`X-Linked-Etag`, `X-Linked-Size`), which the CDN's own ETag would
 * not. The whole request, redirects included, gets `etagTimeoutMs` (HF_HUB_ETAG_TIMEOUT).
 */
export async function fetchFileMetadata(request: FileRequest, limits: RequestLimits): Promise<FileMetadata | MissingFile> {
  const deadline = new IdleDeadline(limits.etagTimeoutMs);
  try {
    const { response, url, location } = await fetchFollowing(
      resolveUrl(request),
      // identity: a gzip-encoded HEAD would report the compressed length.
      { method: 'HEAD', headers: { 'accept-encoding': 'identity' }, signal: deadline.signal },
      { token: limits.token, tokenOrigin: new URL(request.endpoint).origin, follow: 'same-origin' },
      `${request.endpoint} (metadata of ${request.file} in ${request.repoId})`,
    );
    await response.body?.cancel().catch(() => {});
    if (isMissingFile(response.status, response.headers)) {
      const commit = response.headers.get('x-repo-commit');
      return { missing: true, commit: commit && COMMIT_HASH.test(commit) ? commit : undefined };
    }
    if (response.status >= 400 || response.status < 200) throw hubHttpError(request, response.status, response.headers);
    if (response.status >= 300 && location === undefined) throw hubHttpError(request, response.status, response.headers);
    return parseMetadata(request, response, location ?? url);
  } catch (error) {
    if (deadline.fired) throw hubTimeout(request, 'metadata', limits.etagTimeoutMs, error);
    throw error;
  } finally {
    deadline.stop();
  }
}

function parseMetadata(request: FileRequest, response: Response, location: string): FileMetadata {
  const headers = response.headers;
  const commit = headers.get('x-repo-commit');
  const etag = normalizeEtag(headers.get('x-linked-etag') ?? headers.get('etag'));
  if (!commit || !COMMIT_HASH.test(commit) || !etag) {
    throw new VitkitError(
      'HUB_HTTP_ERROR',
      `${request.endpoint} answered for ${request.file} in ${request.repoId} without ${commit ? 'an ETag' : 'an X-Repo-Commit header'}; it is not a Hugging Face Hub endpoint, or a proxy strips headers. Check HF_ENDPOINT.`,
    );
  }
  const sizeHeader = headers.get('x-linked-size') ?? headers.get('content-length');
  const size = sizeHeader !== null && /^\d+$/.test(sizeHeader) ? Number(sizeHeader) : undefined;
  return { commit, etag, size, location };
}

/** `W/"abc"` → `abc`: the form huggingface_hub names blobs by. */
function normalizeEtag(etag: string | null): string | undefined {
  if (!etag) return undefined;
  const bare = etag.replace(/^W\//, '').replace(/^"|"$/g, '');
  // Blob names become paths: refuse anything that could leave the blobs folder.
  return /^[\w.-]+$/.test(bare) && !bare.startsWith('.') ? bare : undefined;
}
