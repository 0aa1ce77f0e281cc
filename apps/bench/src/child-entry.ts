import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/**
 * The script a bench child process runs: `dist/<name>.js` when built; under vitest (sources only, Node 20
 * runs no .ts) an esbuild bundle of `<name>.ts`. Workspace packages stay external, so the child imports
 * their dist, as users do.
 */
export async function childEntry(name: string): Promise<string> {
  const here = dirname(fileURLToPath(import.meta.url));
  const js = join(here, `${name}.js`);
  if (existsSync(js)) return js;
  const out = join(here, '..', 'node_modules', '.cache', 'vitkit-bench', `${name}.mjs`);
  await build({
    entryPoints: [join(here, `${name}.ts`)],
    bundle: true,
    packages: 'external',
    external: ['@vitkit/*'],
    platform: 'node',
    format: 'esm',
    outfile: out,
    logLevel: 'silent',
  });
  return out;
}

/**
 * Runs bench child `name` (see `childEntry`) in a fresh process: sends it `req`, resolves with the
 * one `{ ok, result }` message it answers, rejects on its `{ ok: false, error }`, its exit or the
 * timeout. `what` names the measurement in the errors.
 */
export async function runChild<Req, Res>(name: string, req: Req, what: string, timeoutMs: number): Promise<Res> {
  const entry = await childEntry(name);
  return new Promise((resolve, reject) => {
    const child = fork(entry, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`${what} took longer than ${timeoutMs / 1000} s`));
    }, timeoutMs);
    child.on('message', (m: { ok: boolean; result?: Res; error?: string }) => {
      clearTimeout(timer);
      if (m.ok && m.result) resolve(m.result);
      else reject(new Error(`${what} failed: ${m.error}`));
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code}: ${stderr.split('\n').slice(-5).join(' ')}`));
    });
    child.send(req as object);
  });
}
