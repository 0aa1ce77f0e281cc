import { VitkitError } from '../errors/vitkit-error.js';

/** Which request failed, so every Hub error names the repo, the file and the revision. */
export interface FileRequest {
  repoId: string;
  file: string;
  revision: string;
  endpoint: string;
}

/**
 * Turns a Hub error status into the VitkitError a user can act on. The Hub's `X-Error-Code` header
 * tells a missing repo, revision and file apart; an anonymous request for a private repo gets 401
 * rather than 404, so 401 advice covers both "log in" and "check the name".
 */
export function hubHttpError(request: FileRequest, status: number, headers: Headers): VitkitError {
  const { repoId, file, revision, endpoint } = request;
  const errorCode = headers.get('x-error-code');
  const where = `${file} in ${repoId} at revision "${revision}"`;
  if (status === 401 || status === 403) {
    const gated = errorCode === 'GatedRepo' || status === 403;
    return new VitkitError(
      'HUB_UNAUTHORIZED',
      `The Hub refused access to ${where} (HTTP ${status}). ` +
        (gated
          ? `${repoId} is gated: accept its licence at ${endpoint}/${repoId} while logged in, then set HF_TOKEN (or the token option) to an access token of that account.`
          : `The repo is private, gated, or does not exist: check the id, and set HF_TOKEN (or the token option) to an access token that can read ${repoId}.`),
    );
  }
  if (status === 404) {
    if (errorCode === 'RepoNotFound') {
      return new VitkitError(
        'HUB_NOT_FOUND',
        `The Hub has no repo ${repoId} (asked for ${file} at revision "${revision}"). Check the id at ${endpoint}/models.`,
      );
    }
    if (errorCode === 'RevisionNotFound') {
      return new VitkitError(
        'HUB_NOT_FOUND',
        `${repoId} has no revision "${revision}" (asked for ${file}). Use a branch, tag or commit listed at ${endpoint}/${repoId}.`,
      );
    }
    return new VitkitError(
      'HUB_NOT_FOUND',
      `The Hub has no ${where}. Check the file name and revision at ${endpoint}/${repoId}/tree/${encodeURIComponent(revision)}.`,
    );
  }
  return new VitkitError(
    'HUB_HTTP_ERROR',
    `The Hub answered HTTP ${status} for ${where}; try again later, or set HF_HUB_OFFLINE=1 to use the cache.`,
  );
}

/** The Hub's "this file is not in the repo" (as opposed to a missing repo or revision). */
export function isMissingFile(status: number, headers: Headers): boolean {
  const errorCode = headers.get('x-error-code');
  return status === 404 && (errorCode === null || errorCode === 'EntryNotFound');
}

/**
 * The Hub (or its CDN) went silent: `phase` says whether the metadata request or the download
 * stalled, and which setting sets the limit.
 */
export function hubTimeout(request: FileRequest, phase: 'metadata' | 'download', ms: number, cause: unknown, attempts = 1): VitkitError {
  const { repoId, file, revision, endpoint } = request;
  const setting = phase === 'metadata' ? 'etagTimeoutMs / HF_HUB_ETAG_TIMEOUT' : 'downloadTimeoutMs / HF_HUB_DOWNLOAD_TIMEOUT';
  const tries = attempts > 1 ? ` on each of ${attempts} attempts` : '';
  return new VitkitError(
    'HUB_TIMEOUT',
    `${endpoint} sent nothing for ${ms / 1000} s${tries} while ${phase === 'metadata' ? 'asking about' : 'downloading'} ${file} in ${repoId} at revision "${revision}". ` +
      `Check the connection and run again${phase === 'download' ? ' (the download resumes where it stopped)' : ''}; on a slow link raise ${setting}.`,
    { cause },
  );
}
