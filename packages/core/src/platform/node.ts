// Node side of '#platform': chosen by the "node" condition in package.json "imports",
// so browser bundles never see sharp, fs or onnxruntime-node.
export const platformName = 'node' as const;
export { decodeImageSource } from '../image/decode-node.js';
export { loadOnnxRuntime } from '../runtime/load-onnxruntime-node.js';
