// The Web Worker the playground's models run in (see worker-client.ts): onnxruntime-web's wasm from
// ../ort/ beside the page, then vitkit's worker API serving one model at a time.

import { exposeModelWorker } from '@vitkit/models/worker';
import * as ort from 'onnxruntime-web';

// The worker script is dist/assets/<name>.js (dev: /src/model-worker.ts); the wasm is at the site's /ort/.
ort.env.wasm.wasmPaths = new URL('../ort/', self.location.href).href;
exposeModelWorker();
