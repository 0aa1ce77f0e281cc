export type { Classification } from '@vitkit/core';
export {
  type AttentionMaps,
  Dino,
  type DinoEmbeddings,
  type DinoInput,
  type DinoLoadOptions,
  DinoModel,
  Dinov2,
  Dinov3,
} from './dino-model.js';
export { dinoFamily } from './family.js';
export { KnnClassifier, type KnnOptions, type KnnPrediction } from './knn.js';
export { DINO_ARCHITECTURES, type DinoArchitecture } from './model.js';
