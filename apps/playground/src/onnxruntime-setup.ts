// onnxruntime-web on the page's own thread (the main-thread client): its .wasm served from ./ort/
// next to the page (the Vite config copies it there).
import * as ort from 'onnxruntime-web';

ort.env.wasm.wasmPaths = new URL('ort/', document.baseURI).href;

/** The wasm threads onnxruntime-web will use (vitkit's default: every core of an isolated page). */
export function wasmThreads(): number | undefined {
  return ort.env.wasm.numThreads;
}
