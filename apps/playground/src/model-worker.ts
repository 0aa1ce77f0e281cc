// The Web Worker the playground's models run in (see worker-client.ts): onnxruntime-web's wasm from
// ../ort/ beside the page, then vitkit's worker API serving one model at a time.

import { exposeModelWorker } from '@vitkit/models/worker';
import * as ort from 'onnxruntime-web';
import * as ortWasm from 'onnxruntime-web/wasm';

// The worker script is dist/assets/<name>.js (dev: /src/model-worker.ts); the wasm is at the site's /ort/.
// Both builds: vitkit's wasm device loads the wasm-only one, webgpu the JSEP one.
ort.env.wasm.wasmPaths = new URL('../ort/', self.location.href).href;
ortWasm.env.wasm.wasmPaths = ort.env.wasm.wasmPaths;
exposeModelWorker();
