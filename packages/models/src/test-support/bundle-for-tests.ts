// Bundles a worker script from the sources, as an app's bundler would from the packages: Node 20
// cannot run .ts in a worker thread, and a browser needs one file. '@vitkit/*' resolve to sources,
// '#platform' to the side being bundled for.
import { mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const PACKAGES = fileURLToPath(new URL('../../../', import.meta.url));
const CORE_SRC = join(PACKAGES, 'core/src');

function sources(platform: 'node' | 'browser'): Plugin {
  return {
    name: 'vitkit-sources',
    setup(b) {
      b.onResolve({ filter: /^#platform$/ }, () => ({ path: join(CORE_SRC, `platform/${platform}.ts`) }));
      b.onResolve({ filter: /^@vitkit\/core\/internal$/ }, () => ({ path: join(CORE_SRC, 'internal.ts') }));
      b.onResolve({ filter: /^@vitkit\/models\/worker$/ }, () => ({ path: join(PACKAGES, 'models/src/worker/index.ts') }));
      b.onResolve({ filter: /^@vitkit\/[a-z0-9-]+$/ }, (args) => ({
        path: join(PACKAGES, args.path.slice('@vitkit/'.length), 'src/index.ts'),
      }));
      if (platform === 'browser') {
        // Node built-ins or sharp reaching the bundle would mean the platform split leaks.
        b.onResolve({ filter: /^(node:|sharp$|onnxruntime-node$)/ }, (args) => ({
          errors: [{ text: `${args.path} must not reach a browser bundle (imported by ${args.importer})` }],
        }));
      }
    },
  };
}

/**
 * `entry` (a module calling `exposeModelWorker()`) as one ESM file for a Node worker thread, in a
 * temporary folder whose node_modules is core's (onnxruntime-node and sharp, left external, load from there).
 */
export async function bundleNodeWorker(entry: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'vitkit-worker-'));
  await symlink(join(PACKAGES, 'core/node_modules'), join(dir, 'node_modules'), 'dir');
  const out = join(dir, 'worker.mjs');
  await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'node',
    outfile: out,
    logLevel: 'silent',
    external: ['onnxruntime-node', 'onnxruntime-web', 'sharp'],
    // CommonJS dependencies (proper-lockfile) require Node built-ins.
    banner: { js: "import { createRequire as __vitkitRequire } from 'node:module'; const require = __vitkitRequire(import.meta.url);" },
    plugins: [sources('node')],
  });
  await writeFile(join(dir, 'package.json'), '{"type":"module"}');
  return out;
}

/** One browser ESM bundle of `entry` (a page or worker script), onnxruntime-web included. */
export async function bundleBrowserScript(entry: string): Promise<string> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    logLevel: 'silent',
    // onnxruntime-web's build that loads its wasm glue as a file of its own (served beside the
    // bundle) instead of inlined: its wasm threads then start from that file, not from this bundle.
    conditions: ['onnxruntime-web-use-extern-wasm'],
    plugins: [sources('browser')],
  });
  return result.outputFiles[0].text;
}
