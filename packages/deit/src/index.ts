export type { Classification, ClassifyOptions } from './classification.js';
export { Deit, type DeitLoadOptions } from './deit-model.js';
export { deitFamily } from './family.js';
export { DEIT_ARCHITECTURES, type DeitArchitecture } from './model.js';
