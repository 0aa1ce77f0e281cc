// The names a Hub request is built from (repo id, revision, file name), checked once for both
// platforms: Node's cache writes them into paths, both loaders write them into URLs. No Node
// imports here, so the browser loader shares these rules instead of restating them.
import { VitkitError } from '../errors/vitkit-error.js';

const NAME_PART = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$/;

/**
 * huggingface_hub's `validate_repo_id`: `name` or `namespace/name`, each part of letters, digits,
 * `_`, `-` and `.`, starting and ending with a letter, digit or `_`; the name at most 96
 * characters; no `--` or `..` (the cache folder joins parts with `--`); not ending in `.git`.
 * Returns what is wrong, or undefined for a valid id.
 */
export function repoIdProblem(repoId: string): string | undefined {
  if (typeof repoId !== 'string') return 'is not a string';
  const parts = repoId.split('/');
  if (parts.length > 2) return 'has more than one "/"';
  if (!parts.every((p) => NAME_PART.test(p))) {
    return 'must use letters, digits, "_", "-" or "." only, and cannot start or end a part with "-" or "."';
  }
  if ((parts.at(-1) as string).length > 96) return 'has a name longer than 96 characters';
  if (repoId.includes('--') || repoId.includes('..')) return 'contains "--" or ".."';
  if (repoId.endsWith('.git')) return 'ends with ".git"';
  return undefined;
}

/**
 * A branch, tag or commit, by git's ref-name rules (`git check-ref-format --allow-onelevel`), which
 * every Hub revision obeys: `main`, `v1.0`, `refs/pr/3`, a full or short commit id. The rules rule
 * out everything that could leave `refs/` or `snapshots/` in the cache (`..`, a leading `/`, `\`).
 */
export function revisionProblem(revision: string): string | undefined {
  if (typeof revision !== 'string' || revision.length === 0) return 'is empty';
  if (revision.length > 255) return 'is longer than 255 characters';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses
  if (/[\u0000-\u0020\u007f~^:?*[\\]/.test(revision)) return 'contains a space, a control character or one of ~ ^ : ? * [ \\';
  if (revision.includes('..') || revision.includes('@{') || revision === '@') return 'contains "..", "@{" or is "@"';
  if (revision.startsWith('/') || revision.endsWith('/') || revision.includes('//')) return 'has an empty path component';
  if (revision.endsWith('.')) return 'ends with "."';
  if (revision.split('/').some((c) => c.startsWith('.') || c.endsWith('.lock')))
    return 'has a component starting with "." or ending in ".lock"';
  return undefined;
}

/**
 * A file inside a repo, as an index or a caller names it: a relative `/`-separated path of plain
 * names. Refused: `..` anywhere, `.` or empty components, a leading `/`, `\`, a drive letter or
 * URL scheme, control characters, and any of those hidden behind percent-escapes (`%2e%2e/`), which
 * a URL parser would otherwise decode into a step out of the repo.
 */
export function repoFileProblem(file: unknown): string | undefined {
  if (typeof file !== 'string' || file.length === 0) return 'is not a non-empty string';
  if (file.length > 1024) return 'is longer than 1024 characters';
  for (const form of new Set([file, percentDecoded(file)])) {
    if (form.includes('..')) return 'contains ".."';
    if (form.includes('\\')) return 'contains "\\"';
    if (form.startsWith('/')) return 'is an absolute path';
    if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(form)) return 'starts with a drive letter or URL scheme';
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses
    if (/[\u0000-\u001f\u007f]/.test(form)) return 'contains a control character';
    if (form.split('/').some((c) => c === '' || c === '.')) return 'has an empty or "." path component';
  }
  return undefined;
}

/**
 * WEIGHTS_HEADER_INVALID unless `file` passes `repoFileProblem`: the one check for names that come
 * out of a shard index, made by the browser loader and by Node's Hub and folder lookups alike.
 */
export function checkShardName(file: unknown, where: string): void {
  const problem = repoFileProblem(file);
  if (problem) {
    throw new VitkitError(
      'WEIGHTS_HEADER_INVALID',
      `${where} names the file ${JSON.stringify(file)}, which ${problem}: a checkpoint file must be a plain relative name inside the checkpoint.`,
    );
  }
}

/** The form a URL parser may turn `file` into; undefined escapes are left as they are. */
function percentDecoded(file: string): string {
  return file.replace(/%[0-9a-fA-F]{2}/g, (triplet) => String.fromCharCode(Number.parseInt(triplet.slice(1), 16)));
}

/** Throws INVALID_ARGUMENT when a caller-given repo id, revision or file name is malformed. */
export function checkRepoRequest(request: { repoId: string; revision: string; file: string }): void {
  const problems = [
    ['repo id', request.repoId, repoIdProblem(request.repoId)],
    ['revision', request.revision, revisionProblem(request.revision)],
    ['file name', request.file, repoFileProblem(request.file)],
  ].filter(([, , problem]) => problem !== undefined);
  if (problems.length > 0) {
    const [what, value, problem] = problems[0];
    throw new VitkitError(
      'INVALID_ARGUMENT',
      `The ${what} ${JSON.stringify(value)} ${problem}. Hub ${what}s look like ${EXAMPLES[what as keyof typeof EXAMPLES]}.`,
    );
  }
}

const EXAMPLES = {
  'repo id': '"facebook/dinov2-small"',
  revision: '"main", "v1.0", "refs/pr/3" or a commit id',
  'file name': '"config.json" or "onnx/model.onnx"',
};

/** Each path component percent-encoded, so a name reaches the server as exactly that name. */
export function encodeRepoPath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}
