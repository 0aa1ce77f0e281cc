export type { ModelFamily } from '@vitkit/core';
export { Deit } from '@vitkit/deit';
export { Detr } from '@vitkit/detr';
export { Dino, DinoModel, Dinov2 } from '@vitkit/dino';
export { Swin } from '@vitkit/swin';
export { AutoModel, architectureFor, findFamily } from './auto-model.js';
export { FAMILIES } from './registry.js';
