// onnxruntime-web as the playground uses it: its .wasm served from ./ort/ next to the page (the
// Vite config copies it there), and every InferenceSession.create timed, so the page can show
// session creation apart from the JS graph build (vitkit does both inside one `warmup`).
import * as ort from 'onnxruntime-web';

ort.env.wasm.wasmPaths = new URL('ort/', document.baseURI).href;

let sessionCreateMs = 0;
let onSessionStart: (() => void) | undefined;

type Create = typeof ort.InferenceSession.create;
const create: Create = ort.InferenceSession.create.bind(ort.InferenceSession);
// vitkit calls ort.InferenceSession.create on this same module (Vite bundles one copy), so the
// wrapper sees every session it makes. It only measures; arguments and results pass through.
(ort.InferenceSession as { create: Create }).create = (async (...args: Parameters<Create>) => {
  onSessionStart?.();
  const started = performance.now();
  try {
    return await (create as (...a: Parameters<Create>) => ReturnType<Create>)(...args);
  } finally {
    sessionCreateMs += performance.now() - started;
  }
}) as Create;

/** Milliseconds spent in InferenceSession.create so far (all sessions). */
export function sessionCreateTotalMs(): number {
  return sessionCreateMs;
}

/** Called when a session starts being created (the graph is built by then). */
export function onSessionCreateStart(callback: (() => void) | undefined): void {
  onSessionStart = callback;
}

/** The wasm threads onnxruntime-web will use (vitkit's default: every core of an isolated page). */
export function wasmThreads(): number | undefined {
  return ort.env.wasm.numThreads;
}
