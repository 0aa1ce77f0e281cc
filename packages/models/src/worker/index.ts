// @vitkit/models/worker: run any model in a Web Worker or a Node worker thread.
export {
  type CheckpointFiles,
  type CheckpointSource,
  exposeModelWorker,
  type LoadedModelInfo,
  type ModelWorkerMethod,
  type NodePort,
  type WorkerLoadOptions,
  type WorkerLoadProgress,
  type WorkerPort,
} from './expose-model-worker.js';
export {
  connectModelWorker,
  ModelWorker,
  type NodeWorkerLike,
  type WebWorkerLike,
  type WorkerAttentionMaps,
  type WorkerCallOptions,
  type WorkerImage,
  type WorkerLike,
  type WorkerLoadCallOptions,
} from './model-worker.js';
