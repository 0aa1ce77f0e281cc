export type { Classification, ClassifyOptions } from '@vitkit/core';
export { swinFamily } from './family.js';
export { SWIN_ARCHITECTURES, type SwinArchitecture } from './model.js';
export { Swin, type SwinLoadOptions } from './swin-model.js';
