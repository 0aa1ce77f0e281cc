import { VitkitError } from '../errors/vitkit-error.js';
import { COMMIT_HASH } from './cache-layout.js';
import { type FileRequest, hubHttpError, isMissingFile } from './hub-errors.js';

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

/** Relative redirects (a renamed repo) are followed; this bounds a redirect loop. */
const MAX_RELATIVE_REDIRECTS = 5;

export function resolveUrl(request: FileRequest): string {
  const file = request.file.split('/').map(encodeURIComponent).join('/');
  return `${request.endpoint}/${request.repoId}/resolve/${encodeURIComponent(request.revision)}/${file}`;
}

export function authHeaders(token: string | undefined): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

/**
 * HEADs the file as huggingface_hub's `get_hf_file_metadata` does: redirects within the Hub (a
 * renamed repo) are followed, but the redirect to the LFS CDN is not; its headers already carry
 * the LFS file's hash and size (`X-Linked-Etag`, `X-Linked-Size`), which the CDN's own ETag would
 * not.
 */
export async function fetchFileMetadata(request: FileRequest, token: string | undefined): Promise<FileMetadata | MissingFile> {
  let url = resolveUrl(request);
  for (let hop = 0; ; hop++) {
    // identity: a gzip-encoded HEAD would report the compressed length.
    const response = await fetch(url, {
      method: 'HEAD',
      redirect: 'manual',
      headers: { ...authHeaders(token), 'accept-encoding': 'identity' },
    });
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location && isRelative(location) && hop < MAX_RELATIVE_REDIRECTS) {
      url = new URL(location, url).toString();
      continue;
    }
    if (isMissingFile(response.status, response.headers)) {
      const commit = response.headers.get('x-repo-commit');
      return { missing: true, commit: commit && COMMIT_HASH.test(commit) ? commit : undefined };
    }
    if (response.status >= 400) throw hubHttpError(request, response.status, response.headers);
    return parseMetadata(request, response, url);
  }
}

function parseMetadata(request: FileRequest, response: Response, url: string): FileMetadata {
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
  const location = headers.get('location');
  return { commit, etag, size, location: location ? new URL(location, url).toString() : url };
}

/** `W/"abc"` → `abc`: the form huggingface_hub names blobs by. */
function normalizeEtag(etag: string | null): string | undefined {
  if (!etag) return undefined;
  const bare = etag.replace(/^W\//, '').replace(/^"|"$/g, '');
  // Blob names become paths: refuse anything that could leave the blobs folder.
  return /^[\w.-]+$/.test(bare) && !bare.startsWith('.') ? bare : undefined;
}

/** A Location without scheme and host stays on the Hub (huggingface_hub follows only these). */
function isRelative(location: string): boolean {
  return !/^[a-z][a-z0-9+.-]*:/i.test(location) && !location.startsWith('//');
}
