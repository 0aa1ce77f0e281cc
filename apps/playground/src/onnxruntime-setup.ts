// onnxruntime-web on the page's own thread (the main-thread client): its .wasm served from ./ort/
// next to the page (the Vite config copies it there). vitkit runs wasm on the wasm-only build and
// webgpu on the default (JSEP) build: two modules, each with its own env.
import * as ort from 'onnxruntime-web';
import * as ortWasm from 'onnxruntime-web/wasm';

ort.env.wasm.wasmPaths = new URL('ort/', document.baseURI).href;
ortWasm.env.wasm.wasmPaths = ort.env.wasm.wasmPaths;

/** The wasm threads onnxruntime-web will use (vitkit's default: every core of an isolated page). */
export function wasmThreads(): number | undefined {
  return ortWasm.env.wasm.numThreads;
}
