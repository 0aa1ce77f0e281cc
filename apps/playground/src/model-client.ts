// The one seam between the page and vitkit: every model call the playground makes goes through a
// `ModelClient`. Arguments and results are plain data (typed arrays, Files, numbers). The page uses
// the worker-backed client (vitkit's worker API, worker-client.ts); the main-thread one
// (main-thread-client.ts) is kept for ?client=main and browsers without module workers.

export type PlaygroundDevice = 'wasm' | 'webgpu';

/** Weight precision the graph is built in (vitkit's `dtype`): fp16 runs on WebGPU, int8 on wasm. */
export type PlaygroundDtype = 'fp32' | 'fp16' | 'int8';

export interface LoadOptions {
  device: PlaygroundDevice;
  dtype: PlaygroundDtype;
}

/** Where a checkpoint comes from: a Hub id, a base URL, or files the user picked (a local folder). */
export type CheckpointRef =
  | { kind: 'hub'; id: string; endpoint?: string; revision?: string }
  | { kind: 'url'; url: string }
  | { kind: 'files'; files: readonly File[]; label: string };

/** 8-bit RGB, row-major HWC (what vitkit's `RgbImage` holds). */
export interface Pixels {
  data: Uint8Array;
  width: number;
  height: number;
}

export type LoadPhase = 'download' | 'weights' | 'graph' | 'session' | 'run';

export interface LoadProgress {
  phase: LoadPhase;
  /** Download: the file being fetched, bytes so far and (when the server said) in all. */
  file?: string;
  loaded?: number;
  total?: number;
}

/** What the page may do with a loaded model; decided from the model's class, not guessed from outputs. */
export type ModelTask = 'dino' | 'classify' | 'detect' | 'segment' | 'grounded-detect';

export interface ModelInfo {
  source: string;
  architecture: string;
  /** The registry family that built it (`dino`, `deit`, `swin`, `detr`, …). */
  family: string;
  device: PlaygroundDevice;
  dtype: PlaygroundDtype;
  tasks: ModelTask[];
  /** Said beside the task list (e.g. why a task is missing on this client). */
  hint?: string;
  /** Milliseconds to fetch (or read) the checkpoint's files and parse them; the worker's start-up counts here too. */
  filesMs: number;
  /** Bytes of weights read (where the client can tell). */
  weightBytes?: number;
  /** When the client builds the first session during load (the worker does): its steps. */
  load?: {
    /** Building the graph in JS; undefined when it came from the browser's compiled-graph cache. */
    graphMs?: number;
    sessionMs: number;
    inputSize: [number, number];
  };
}

/** Time spent in each step of one call. The graph and session steps happen once per input size. */
export interface StepTimings {
  preprocessMs?: number;
  /** Building the ONNX graph in JS (the first call at this size; 0 afterwards). */
  graphMs?: number;
  /** onnxruntime-web's InferenceSession.create (the first call at this size; 0 afterwards). */
  sessionMs?: number;
  runMs: number;
  totalMs: number;
}

export interface Timed<T> {
  value: T;
  timings: StepTimings;
}

export interface AttentionResult {
  /** The image as the model saw it (after resize and crop). */
  view: Pixels;
  heads: number;
  gridH: number;
  gridW: number;
  /** Heat-map overlays over `view`: index 0 is the mean of all heads, then head 0, 1, … */
  overlays: Pixels[];
}

export interface PatchFeatures {
  view: Pixels;
  gridH: number;
  gridW: number;
  dim: number;
  /** [gridH * gridW, dim], each row scaled to unit length (so a dot product is the cosine). */
  unitFeatures: Float32Array;
}

export interface ClassScore {
  label: string;
  score: number;
  index: number;
}

export interface Detection {
  label: string;
  score: number;
  /** [x0, y0, x1, y1] in pixels of the original image. */
  box: [number, number, number, number];
}

export interface Segmentation {
  width: number;
  height: number;
  /** Segment id per pixel (0: none; -1 everywhere when no query passed). */
  ids: Int32Array;
  segments: { id: number; label: string; score?: number; area: number }[];
}

export interface ModelClient {
  load(ref: CheckpointRef, options: LoadOptions, onProgress: (p: LoadProgress) => void): Promise<ModelInfo>;
  /** DINO family: the first three principal components of the patch features as RGB. */
  pca(image: Pixels): Promise<Timed<Pixels>>;
  /** DINO family: last-layer CLS→patch attention, one overlay per head. */
  attention(image: Pixels): Promise<Timed<AttentionResult>>;
  /** DINO family: patch features on their grid, for click-a-patch similarity. */
  patchFeatures(image: Pixels): Promise<Timed<PatchFeatures>>;
  /** DINO family: cosine similarity of two images' CLS embeddings. */
  imageSimilarity(a: Pixels, b: Pixels): Promise<Timed<number>>;
  classify(image: Pixels, topK: number): Promise<Timed<ClassScore[]>>;
  /** Every detection above `threshold` (the page filters further with its slider without rerunning). */
  detect(image: Pixels, threshold: number): Promise<Timed<Detection[]>>;
  segment(image: Pixels, threshold: number): Promise<Timed<Segmentation>>;
  groundedDetect(image: Pixels, prompt: string, threshold: number, textThreshold: number): Promise<Timed<Detection[]>>;
  /** Where and how the model runs, for the page's backend line (e.g. "2 threads", "in a Web Worker"). */
  runtimeDetail(device: PlaygroundDevice): string | undefined;
  dispose(): Promise<void>;
}
