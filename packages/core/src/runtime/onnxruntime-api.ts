// The slice of the onnxruntime API (identical in onnxruntime-node and onnxruntime-web) that vitkit uses.
// Typed structurally so core needs neither package to type-check, and a browser build pulls in only one.

export interface OrtTensor {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: unknown;
  dispose?(): void;
}

export interface OrtSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
  endProfiling?(): void;
}

export interface OrtSessionOptions {
  executionProviders?: (string | { name: string; [key: string]: unknown })[];
  intraOpNumThreads?: number;
  interOpNumThreads?: number;
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'layout' | 'all';
  enableCpuMemArena?: boolean;
  enableMemPattern?: boolean;
  executionMode?: 'sequential' | 'parallel';
  optimizedModelFilePath?: string;
  logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
  enableProfiling?: boolean;
  profileFilePrefix?: string;
  extra?: Record<string, unknown>;
  /** onnxruntime-web: external data files by the names the graph's initializers give (`location`). */
  externalData?: { path: string; data: Uint8Array }[];
}

export interface OrtModule {
  readonly InferenceSession: { create(model: Uint8Array | string, options?: OrtSessionOptions): Promise<OrtSession> };
  readonly Tensor: new (type: string, data: unknown, dims: readonly number[]) => OrtTensor;
  readonly env: {
    wasm?: { numThreads?: number; simd?: boolean; proxy?: boolean; wasmPaths?: unknown };
    logLevel?: string;
    versions?: Record<string, string>;
  };
  listSupportedBackends?(): { name: string; bundled: boolean }[];
}
