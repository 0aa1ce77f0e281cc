// Browser side of '#platform': chosen by the "browser"/"default" condition in package.json "imports".
// Nothing reachable from here imports a Node built-in, sharp or onnxruntime-node.
export const platformName = 'browser' as const;
// fetch from a base URL or the Hub (`${endpoint}/${repo}/resolve/${revision}/${file}`), Cache API for Hub files.
export { downloadPretrained, loadPretrained } from '../hub/load-pretrained-browser.js';
export { decodeImageSource } from '../image/decode-browser.js';
export { browserRuntime } from '../runtime/browser-graph-cache.js';
export { loadOnnxRuntime } from '../runtime/load-onnxruntime-web.js';
