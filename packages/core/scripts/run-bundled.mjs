// Runs one of core's scratch TypeScript scripts (not shipped): bundles it with esbuild from the sources
// (not dist) and runs the bundle with this process's arguments. `node <script>.mjs …` wrappers call it.
import { spawnSync } from 'node:child_process';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));

/** Bundles `scripts/<name>.ts` and exits with its status. */
export async function runBundled(name) {
  // Written under node_modules so the bundle resolves onnxruntime-node like the package does.
  const out = here(`../node_modules/.vitkit-${basename(name)}.mjs`);
  await build({
    entryPoints: [here(`./${name}.ts`)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: out,
    external: ['onnxruntime-node', 'onnxruntime-web', 'sharp', 'proper-lockfile'],
    alias: { '@vitkit/core/internal': here('../src/internal.ts'), '@vitkit/core': here('../src/index.ts') },
    plugins: [
      {
        name: 'platform',
        setup(b) {
          b.onResolve({ filter: /^#platform$/ }, () => ({ path: here('../src/platform/node.ts') }));
        },
      },
    ],
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    logLevel: 'warning',
  });
  const r = spawnSync(process.execPath, [out, ...process.argv.slice(2)], { stdio: 'inherit', cwd: here('..') });
  process.exit(r.status ?? 1);
}
