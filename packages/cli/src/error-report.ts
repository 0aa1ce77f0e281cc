import { isVitkitError } from '@vitkit/core';

/** The exit status of a command that failed, whatever failed: 2, as for every VitkitError. */
export const FAILURE_EXIT_CODE = 2;

/**
 * What `vitkit` prints on stderr for the error that ended a command: `vitkit: <message> [CODE]`
 * for every error, the stack (with its causes) only under `--verbose`. A VitkitError has its own
 * code; a system error its errno name (ENOENT, EACCES, EPIPE, …); anything else is a bug in
 * vitkit, coded INTERNAL and said so.
 */
export function errorReport(error: unknown, verbose: boolean): string {
  const lines = [`vitkit: ${messageOf(error)} [${codeOf(error)}]`];
  if (verbose) {
    for (let e: unknown = error, depth = 0; e !== undefined && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
      lines.push(depth === 0 ? stackOf(e) : `caused by: ${stackOf(e)}`);
    }
  } else if (codeOf(error) === 'INTERNAL') {
    lines.push('vitkit: this is a bug in vitkit; run again with --verbose for the stack trace, and please report it.');
  }
  return `${lines.join('\n')}\n`;
}

function codeOf(error: unknown): string {
  if (isVitkitError(error)) return error.code;
  const errno = (error as { code?: unknown } | null)?.code;
  if (typeof errno === 'string' && /^E[A-Z0-9]+$/.test(errno)) return errno;
  return 'INTERNAL';
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

function stackOf(error: unknown): string {
  return error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
}
