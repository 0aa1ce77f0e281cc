export type { Classification, ClassifyOptions } from '@vitkit/core';
export { buildSwinBackbone, readSwinBackboneSpec, type SwinBackboneSpec, swinBackboneChannels } from './backbone.js';
export { swinFamily } from './family.js';
export { SWIN_ARCHITECTURES, type SwinArchitecture } from './model.js';
export { swinBackboneStateDict } from './state-dict.js';
export { Swin, type SwinLoadOptions } from './swin-model.js';
