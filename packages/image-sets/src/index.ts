export { type BuildIndexOptions, type BuildIndexSummary, buildImageIndex } from './build-index.js';
export { discoverImages, IMAGE_EXTENSIONS } from './discover-images.js';
export {
  type EmbedBatch,
  type EmbeddedImage,
  type Embedder,
  type EmbedImagesOptions,
  embedImages,
  type FailedImage,
  loadEmbedder,
} from './embed-images.js';
export { ANN_MIN_ROWS, ImageIndex, type SearchHit } from './image-index.js';
export { type KnnEvalOptions, type KnnEvalResult, knnEval } from './knn-eval.js';
export { NpyImageStore } from './npy-store.js';
export { ParquetImageStore } from './parquet-store.js';
export {
  DEFAULT_QUEUE,
  type EnqueueOptions,
  enqueueShards,
  type QueueConnection,
  type QueueStatus,
  queueStatus,
  runShardWorker,
  type ShardJob,
  type ShardWorkerOptions,
} from './shard-queue.js';
export { completeShards, type MergeSummary, mergeShards, type ShardResult, writeShard } from './shard-store.js';
