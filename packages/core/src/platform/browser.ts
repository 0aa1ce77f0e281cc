// Browser side of '#platform': chosen by the "browser"/"default" condition in package.json "imports".
export const platformName = 'browser' as const;
export { decodeImageSource } from '../image/decode-browser.js';
export { loadOnnxRuntime } from '../runtime/load-onnxruntime-web.js';
