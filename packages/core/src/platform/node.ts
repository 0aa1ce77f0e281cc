// Node side of '#platform': chosen by the "node" condition in package.json "imports",
// so browser bundles never see sharp, fs, proper-lockfile or onnxruntime-node.
export const platformName = 'node' as const;
// Local folders and the Hugging Face cache layout (fs, crypto, proper-lockfile).
export { downloadPretrained, loadPretrained } from '../hub/load-pretrained-node.js';
export { decodeImageSource } from '../image/decode-node.js';
export { loadOnnxRuntime } from '../runtime/load-onnxruntime-node.js';
export { nodeRuntime } from '../runtime/node-runtime.js';
