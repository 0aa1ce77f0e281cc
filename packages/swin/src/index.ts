export { Swin, type SwinLoadOptions } from './swin-model.js';
export { SWIN_ARCHITECTURES, type SwinArchitecture } from './model.js';
export type { Classification, ClassifyOptions } from './classification.js';
export { swinFamily } from './family.js';
