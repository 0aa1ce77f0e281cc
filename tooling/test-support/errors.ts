import { VitkitError } from '../../packages/core/src/errors/vitkit-error.js';

/** What `fn` throws; fails the test when it returns. */
export function errorOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

/** The VitkitError code `fn` throws, or undefined when it returns; anything else thrown fails the test. */
export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return vitkitCode(e);
  }
  return undefined;
}

/** The VitkitError code `promise` rejects with, or undefined when it resolves. */
export async function rejectionCodeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (e) {
    return vitkitCode(e);
  }
  return undefined;
}

function vitkitCode(e: unknown): string {
  if (!(e instanceof VitkitError)) throw new Error(`expected a VitkitError, got ${String((e as Error)?.stack ?? e)}`);
  return e.code;
}
