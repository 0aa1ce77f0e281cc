import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readFile, readlink, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { VitkitError } from '../errors/vitkit-error.js';

/** A 40-hex git commit id, which needs no `refs/` lookup. */
export const COMMIT_HASH = /^[0-9a-f]{40}$/;

/** What the cache knows about one file at one revision, without asking the network. */
export type CachedFile =
  | { status: 'present'; path: string; commit: string }
  /** The Hub said 404 for this file at this commit (recorded under `.no_exist/`). */
  | { status: 'absent'; commit: string }
  /** The commit is known (its snapshot exists) but this file was never fetched. */
  | { status: 'unknown'; commit: string }
  /** The revision was never resolved to a commit here. */
  | { status: 'cold' };

/**
 * One model repo's folder in the Hugging Face cache, laid out exactly as huggingface_hub lays it out
 * so either tool reuses the other's downloads:
 *
 *   <cache>/models--<org>--<name>/blobs/<etag>                 file contents, named by hash
 *   <cache>/models--<org>--<name>/snapshots/<commit>/<file>    relative symlink to ../../blobs/<etag>
 *   <cache>/models--<org>--<name>/refs/<revision>              the commit the revision last resolved to
 *   <cache>/models--<org>--<name>/.no_exist/<commit>/<file>    empty: the Hub has no such file
 *   <cache>/.locks/models--<org>--<name>/<etag>.vitkit.lock    held while a blob is written
 *
 * The lock is not Python's `<etag>.lock`: Python holds an flock on a file, vitkit an atomic mkdir
 * (Node has no flock), and a stale-lock sweep must never delete a file Python may hold.
 */
export class RepoCache {
  readonly folderName: string;
  readonly repoDir: string;

  constructor(
    readonly cacheDir: string,
    readonly repoId: string,
  ) {
    this.folderName = `models--${repoId.split('/').join('--')}`;
    this.repoDir = inside(cacheDir, this.folderName);
  }

  blobPath(etag: string): string {
    return inside(join(this.repoDir, 'blobs'), etag);
  }

  incompletePath(etag: string): string {
    return `${this.blobPath(etag)}.incomplete`;
  }

  snapshotDir(commit: string): string {
    return inside(join(this.repoDir, 'snapshots'), commit);
  }

  pointerPath(commit: string, file: string): string {
    return inside(this.snapshotDir(commit), ...file.split('/'));
  }

  lockPath(etag: string): string {
    return inside(join(this.cacheDir, '.locks', this.folderName), `${etag}.vitkit.lock`);
  }

  private refPath(revision: string): string {
    return inside(join(this.repoDir, 'refs'), ...revision.split('/'));
  }

  private noExistPath(commit: string, file: string): string {
    return inside(join(this.repoDir, '.no_exist', commit), ...file.split('/'));
  }

  /** The commit a branch or tag last resolved to; a commit id resolves to itself. */
  async resolveCommit(revision: string): Promise<string | undefined> {
    if (COMMIT_HASH.test(revision)) return revision;
    try {
      const commit = (await readFile(this.refPath(revision), 'utf8')).trim();
      return COMMIT_HASH.test(commit) ? commit : undefined;
    } catch {
      return undefined;
    }
  }

  async lookup(revision: string, file: string): Promise<CachedFile> {
    const commit = await this.resolveCommit(revision);
    if (commit === undefined) return { status: 'cold' };
    const pointer = this.pointerPath(commit, file);
    if (await isFile(pointer)) return { status: 'present', path: pointer, commit };
    if (await isFile(this.noExistPath(commit, file))) return { status: 'absent', commit };
    if (await exists(this.snapshotDir(commit))) return { status: 'unknown', commit };
    return { status: 'cold' };
  }

  async writeRef(revision: string, commit: string): Promise<void> {
    if (revision === commit) return;
    // No trailing newline: huggingface_hub compares the file's contents to the commit as they are.
    await writeAtomically(this.refPath(revision), commit);
  }

  async markAbsent(commit: string, file: string): Promise<void> {
    await writeAtomically(this.noExistPath(commit, file), '');
  }

  /**
   * Points `snapshots/<commit>/<file>` at the blob with a relative symlink. Making a symlink is one
   * system call, so the entry is either absent or whole; a racing process that made the same link
   * first is fine. Where symlinks are not allowed (Windows without developer mode) the blob is
   * copied under a temporary name beside it and renamed into the snapshot, as huggingface_hub does.
   */
  async linkIntoSnapshot(commit: string, file: string, etag: string): Promise<string> {
    const pointer = this.pointerPath(commit, file);
    await mkdir(dirname(pointer), { recursive: true });
    const target = relative(dirname(pointer), this.blobPath(etag));
    try {
      await symlink(target, pointer);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') {
        if ((await readlink(pointer).catch(() => undefined)) === target) return pointer;
        await rm(pointer, { force: true });
        return this.linkIntoSnapshot(commit, file, etag);
      }
      if (code !== 'EPERM') throw error;
      const temporary = `${this.blobPath(etag)}.${randomBytes(6).toString('hex')}.copy`;
      await copyFile(this.blobPath(etag), temporary);
      await rename(temporary, pointer);
    }
    return pointer;
  }
}

/**
 * `root/parts…`, refusing any result that is not strictly below `root` once resolved, as
 * huggingface_hub checks its pointer paths: the last line of defence behind the name checks in
 * repo-paths.ts, so nothing from a revision, file name or server header writes outside the cache.
 */
export function inside(root: string, ...parts: string[]): string {
  const base = resolve(root);
  const path = resolve(base, ...parts);
  if (!path.startsWith(base + sep)) {
    throw new VitkitError(
      'INVALID_ARGUMENT',
      `${JSON.stringify(parts.join('/'))} would lead out of the cache folder ${base}; refusing to read or write there.`,
    );
  }
  return path;
}

async function writeAtomically(path: string, contents: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temporary, contents);
  await rename(temporary, path);
}

export async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
