import { isVitkitError, VitkitError } from '../errors/vitkit-error.js';
import { downloadBlob } from './blob-download.js';
import { COMMIT_HASH, isFile, RepoCache } from './cache-layout.js';
import { withCacheLock } from './cache-lock.js';
import { fetchFileMetadata } from './file-metadata.js';
import type { FileRequest } from './hub-errors.js';
import { hubHttpError } from './hub-errors.js';
import type { HubSettings } from './hub-settings.js';
import { checkRepoRequest } from './repo-paths.js';

/**
 * One file of a Hub repo as a local path in the cache: huggingface_hub's `hf_hub_download`.
 * Returns undefined for an `optional` file the repo does not have.
 */
export async function hubFile(repoId: string, file: string, settings: HubSettings, optional: boolean): Promise<string | undefined> {
  const request: FileRequest = { repoId, file, revision: settings.revision, endpoint: settings.endpoint };
  // Each name becomes a path in the cache and a segment of a URL: refuse any that could leave either.
  checkRepoRequest(request);
  const cache = new RepoCache(settings.cacheDir, repoId);

  // A commit id pins the contents, so a cached copy (or a cached "no such file") is final.
  if (COMMIT_HASH.test(settings.revision)) {
    const cached = await cache.lookup(settings.revision, file);
    if (cached.status === 'present') return cached.path;
    if (cached.status === 'absent' && optional) return undefined;
  }
  if (settings.offline) return fromCache(cache, request, optional, settings);

  let metadata: Awaited<ReturnType<typeof fetchFileMetadata>>;
  try {
    metadata = await fetchFileMetadata(request, settings);
  } catch (error) {
    // fetch rejects with a TypeError when the Hub cannot be reached at all, and a silent Hub ends
    // in HUB_TIMEOUT: use the cache if it can answer, as huggingface_hub does, and say what failed if it cannot.
    const timedOut = isVitkitError(error, 'HUB_TIMEOUT');
    if (!(error instanceof TypeError) && !timedOut) throw error;
    const cached = await cache.lookup(settings.revision, file);
    if (cached.status === 'present') return cached.path;
    if (cached.status === 'absent' && optional) return undefined;
    if (timedOut) throw error;
    throw new VitkitError(
      'HUB_HTTP_ERROR',
      `Could not reach ${settings.endpoint} for ${file} in ${repoId} (${(error.cause as Error | undefined)?.message ?? error.message}), and the cache at ${settings.cacheDir} has no copy. Check the connection or HF_ENDPOINT.`,
      { cause: error },
    );
  }

  if ('missing' in metadata) {
    if (metadata.commit) {
      await cache.writeRef(settings.revision, metadata.commit);
      await cache.markAbsent(metadata.commit, file);
    }
    if (optional) return undefined;
    throw hubHttpError(request, 404, new Headers({ 'x-error-code': 'EntryNotFound' }));
  }

  const { commit, etag } = metadata;
  await cache.writeRef(settings.revision, commit);
  const pointer = cache.pointerPath(commit, file);
  if (await isFile(pointer)) return pointer;
  const blobPath = cache.blobPath(etag);
  if (!(await isFile(blobPath))) {
    await withCacheLock(cache.lockPath(etag), async () => {
      // Another process may have finished this blob while we waited for the lock.
      if (await isFile(blobPath)) return;
      await downloadBlob({
        request,
        url: metadata.location,
        // The token goes only to the Hub itself, never to the CDN a file redirects to.
        auth: { token: settings.token, tokenOrigin: new URL(settings.endpoint).origin },
        timeoutMs: settings.downloadTimeoutMs,
        retryBaseMs: settings.retryBaseMs,
        etag,
        expectedSize: metadata.size,
        incompletePath: cache.incompletePath(etag),
        blobPath,
        onProgress: settings.onProgress && ((loaded, total) => settings.onProgress?.({ file, loaded, total })),
      });
    });
  }
  return cache.linkIntoSnapshot(commit, file, etag);
}

async function fromCache(cache: RepoCache, request: FileRequest, optional: boolean, settings: HubSettings): Promise<string | undefined> {
  const cached = await cache.lookup(request.revision, request.file);
  if (cached.status === 'present') return cached.path;
  // The snapshot exists, so the repo was fetched before and simply lacks (or never needed) this file.
  if (optional && cached.status !== 'cold') return undefined;
  if (cached.status === 'absent') throw hubHttpError(request, 404, new Headers({ 'x-error-code': 'EntryNotFound' }));
  throw new VitkitError(
    'HUB_OFFLINE_MISS',
    `Offline mode (HF_HUB_OFFLINE or localFilesOnly) is on, and ${request.file} of ${request.repoId} at revision "${request.revision}" is not in the cache at ${settings.cacheDir}. ` +
      `Download it once while online (\`vitkit download ${request.repoId}\`), point cacheDir/HF_HUB_CACHE at a cache that has it, or turn offline mode off.`,
  );
}
