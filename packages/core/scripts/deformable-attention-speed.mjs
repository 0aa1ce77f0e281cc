// Scratch speed probe (not shipped): bundles deformable-attention-speed.ts with esbuild (sources, not dist) and runs it.
//   node packages/core/scripts/deformable-attention-speed.mjs [--kernel both|grid-sample|gather] [--runs 10] [--threads N] [--profile]
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
// Written under node_modules so the bundle resolves onnxruntime-node like the package does.
const out = here('../node_modules/.vitkit-deformable-attention-speed.mjs');
await build({
  entryPoints: [here('./deformable-attention-speed.ts')],
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
