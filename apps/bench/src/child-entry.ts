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
