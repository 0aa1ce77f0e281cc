export { Deit, type DeitLoadOptions } from './deit-model.js';
export { DEIT_ARCHITECTURES, type DeitArchitecture } from './model.js';
export type { Classification, ClassifyOptions } from './classification.js';
export { deitFamily } from './family.js';
