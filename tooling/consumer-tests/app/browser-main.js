// The browser consumer's entry, bundled by `vite build`: the fixture checkpoint is served at
// /fixture/ by the same server, onnxruntime-web's .wasm files at /ort/. The test reads
// window.__VITKIT_RESULT__ once the title says "done". vitkit's wasm device runs on the wasm-only
// build, so that is the module whose env is set and read here.
import * as ort from 'onnxruntime-web/wasm';
import { checkDino } from './check-dino.js';

ort.env.wasm.wasmPaths = new URL('/ort/', location.href).href;
// numThreads is left to vitkit: the page is cross-origin isolated, so its default is every core.

let result;
try {
  const readBytes = async (f) => {
    const r = await fetch(`/fixture/${f}`);
    if (!r.ok) throw new Error(`GET /fixture/${f}: HTTP ${r.status}`);
    return new Uint8Array(await r.arrayBuffer());
  };
  result = await checkDino({ source: '/fixture', device: 'wasm', readBytes });
  Object.assign(result, { threads: ort.env.wasm.numThreads, cores: navigator.hardwareConcurrency, isolated: crossOriginIsolated });
} catch (e) {
  result = { ok: false, error: String(e?.stack ?? e) };
}
window.__VITKIT_RESULT__ = result;
document.getElementById('out').textContent = JSON.stringify(result, null, 2);
document.title = 'done';
