export type { Classification, ClassifyOptions } from '@vitkit/core';
export { Deit, type DeitLoadOptions } from './deit-model.js';
export { deitFamily } from './family.js';
export { DEIT_ARCHITECTURES, type DeitArchitecture } from './model.js';
