export type { ModelFamily } from '@vitkit/core';
export { Deit } from '@vitkit/deit';
export {
  type DetectOptions,
  Detr,
  type DetrDetection,
  type DetrImageSegmentation,
  type DetrSegment,
  type SegmentOptions,
} from '@vitkit/detr';
export { type AttentionMaps, Dino, type DinoEmbeddings, type DinoInput, DinoModel, Dinov2 } from '@vitkit/dino';
export { Swin } from '@vitkit/swin';
export { AutoModel, architectureFor, findFamily } from './auto-model.js';
export { FAMILIES } from './registry.js';
