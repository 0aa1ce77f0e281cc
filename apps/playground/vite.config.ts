import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { defaultClientConditions, defineConfig, type Plugin } from 'vite';

// onnxruntime-web's builds without the wasm loader inlined ("onnxruntime-web-use-extern-wasm"): each
// fetches its loader and binary from ./ort/ (onnxruntime-setup.ts sets wasmPaths), and its wasm
// threads start from that loader rather than from the app's own bundle. vitkit's wasm device uses the
// wasm-only build, webgpu the JSEP build (wasm and WebGPU).
const ORT_FILES = [
  'ort-wasm-simd-threaded.wasm',
  'ort-wasm-simd-threaded.mjs',
  'ort-wasm-simd-threaded.jsep.wasm',
  'ort-wasm-simd-threaded.jsep.mjs',
];
const ortDist = dirname(createRequire(import.meta.url).resolve('onnxruntime-web/ort-wasm-simd-threaded.jsep.wasm'));

// Cross-origin isolation (SharedArrayBuffer) gives onnxruntime-web its wasm threads; a host serving
// dist/ should send the same two headers.
const isolation = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

/** Serves onnxruntime-web's wasm at /ort/ in dev and writes it to dist/ort/ in a build. */
function onnxruntimeWasm(): Plugin {
  return {
    name: 'vitkit-playground-ort-wasm',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const name = req.url?.split('?')[0].match(/\/ort\/([^/]+)$/)?.[1];
        if (!name || !ORT_FILES.includes(name)) return next();
        // Ahead of Vite's own middlewares, so server.headers is not applied yet: a worker script
        // without COEP is refused by a cross-origin-isolated page.
        for (const [k, v] of Object.entries(isolation)) res.setHeader(k, v);
        res.setHeader('content-type', name.endsWith('.wasm') ? 'application/wasm' : 'text/javascript');
        res.end(readFileSync(join(ortDist, name)));
      });
    },
    generateBundle() {
      for (const name of ORT_FILES) this.emitFile({ type: 'asset', fileName: `ort/${name}`, source: readFileSync(join(ortDist, name)) });
    },
  };
}

export default defineConfig({
  // Relative asset URLs, so dist/ works from any folder of any static host.
  base: './',
  plugins: [onnxruntimeWasm()],
  resolve: { conditions: ['onnxruntime-web-use-extern-wasm', ...defaultClientConditions] },
  // Pre-bundling onnxruntime-web would move it away from the wasm it loads; it ships ESM already.
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  server: { host: '127.0.0.1', headers: isolation },
  preview: { host: '127.0.0.1', headers: isolation },
  build: { target: 'es2022', chunkSizeWarningLimit: 2000 },
  // The model worker (model-worker.ts) is an ES module worker, as vitkit's worker API expects.
  worker: { format: 'es' },
});
