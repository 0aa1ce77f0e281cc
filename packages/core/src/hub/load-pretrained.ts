// `loadPretrained` / `downloadPretrained` for code inside core (vision-model.ts, …) and for the
// public index: the platform-neutral wrappers over '#platform'. Node's implementation is
// load-pretrained-node.ts, the browser's load-pretrained-browser.ts; importing from here is always safe.
export { downloadPretrained, loadPretrained } from './load-pretrained-platform.js';
export type { DownloadedCheckpoint, PretrainedFiles, PretrainedOptions } from './load-pretrained-types.js';
