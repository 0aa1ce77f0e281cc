import { LRUCache } from 'lru-cache';
import type { AttentionKernelName } from '../attention/attention.js';
import type { DeformableSamplingKernelName } from '../attention/deformable-sampling.js';
import { ConfigReader, readId2Label } from '../config/model-config.js';
import { VitkitError } from '../errors/vitkit-error.js';
import { GraphBuilder } from '../graph/graph-builder.js';
import { encodeModel, type GraphParts } from '../graph/graph-parts.js';
import { identity } from '../graph/ops.js';
import type { WeightPrecision } from '../graph/precision/weight-precision.js';
import { servedGraphParts } from '../graph/serialize-graph.js';
import type { Dim, Value } from '../graph/value.js';
import { loadPretrained, type PretrainedFiles, type PretrainedOptions } from '../hub/load-pretrained.js';
import type { ImageSource, LoadImageOptions } from '../image/image-source.js';
import { createImageProcessor, type ImageProcessor, type PreprocessorConfig, type ProcessorOutput } from '../preprocess/image-processor.js';
import { checkPrecisionDevice, type Device, defaultAttentionKernel, defaultDeformableSamplingKernel } from '../runtime/device.js';
import { defaultDevice, ModelSession, prepareRuntime, type SessionOptions } from '../runtime/model-session.js';
import type { DType } from '../tensor/dtype.js';
import { Tensor, toFloat32Array } from '../tensor/tensor.js';
import { type Classification, type ClassifyOptions, topClasses } from './classification.js';

/**
 * Precision the graph is built for, at load time from the same checkpoint: 'fp32' (every device),
 * 'fp16' (webgpu, cuda), 'int8' and 'int4' (cpu: quantized Linear weights). Inputs and outputs stay
 * float32 in every precision. See `graph/precision/weight-precision.ts`.
 */
export type ModelDtype = WeightPrecision;

export interface ModelOptions {
  device?: Device;
  dtype?: ModelDtype;
  threads?: number;
  /**
   * cpu: whether onnxruntime's idle intra-op threads spin-wait for the next op (onnxruntime's
   * default, true). false lets them sleep, leaving the cores to other work in the process between
   * ops (image decoding alongside inference, as @vitkit/image-sets does).
   */
  spinning?: boolean;
  /** Override the backend's default attention kernel. */
  attentionKernel?: AttentionKernelName;
  /**
   * Node, cpu: keep each compiled graph (onnxruntime's optimized model) on disk, keyed by the
   * checkpoint's files, the input size, these options and the vitkit/onnxruntime versions. A later
   * process then skips reading the weights, building the graph and optimizing it. `true` uses
   * `$VITKIT_CACHE/optimized` (default ~/.cache/vitkit/optimized); a string names the folder.
   */
  optimizedModelCache?: boolean | string;
  /**
   * Node (cpu, webgpu, cuda): weights above this many bytes (default 1 GiB) reach onnxruntime as ONNX
   * external data in a temporary folder instead of one protobuf (which cannot hold 2 GiB). Mostly for tests.
   */
  externalDataThreshold?: number;
  /**
   * How many onnxruntime sessions the model keeps (default 4). Families whose graphs are built per
   * input size (interpolated position embeddings, Swin's masks) make one per size; the least
   * recently used is released past this bound, so a process fed photos of many sizes stays bounded.
   */
  maxSessions?: number;
  /**
   * onnxruntime's graph optimization level (default 'all'). On wasm 'extended' or 'basic' create
   * the session seconds sooner; whether runs stay as fast is the model's to measure.
   */
  graphOptimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /**
   * Browsers: keep each graph built in the Cache API across page loads (true, or a cache name;
   * default off: see `SessionOptions.graphCache` for what it saves and costs). Used when the
   * checkpoint's files carry validators (ETag or Last-Modified), so a changed file is never served
   * a stale graph.
   */
  graphCache?: boolean | string;
  /**
   * Told as each graph is built and each onnxruntime session created (the first `run`, or
   * `warmup`), so a page can show where a cold start spends its time.
   */
  onLoadProgress?: (event: ModelLoadEvent) => void;
}

/**
 * One step of turning a checkpoint into a session: `graph` is vitkit building and serializing the
 * ONNX graph in JS (skipped on a compiled-graph cache hit), `session` is onnxruntime loading and
 * optimizing it. `done` events carry the step's milliseconds.
 */
export type ModelLoadEvent =
  | { stage: 'graph'; state: 'start' }
  | { stage: 'graph'; state: 'done'; ms: number; nodeCount: number }
  | { stage: 'session'; state: 'start' }
  | { stage: 'session'; state: 'done'; ms: number; fromCache: boolean };

export interface ForwardOptions {
  outputHiddenStates?: boolean;
  outputAttentions?: boolean;
}

/** A graph input a model declares: its name, the dtype the graph takes, and which dims are dynamic (strings). */
export interface InputSpec {
  name: string;
  dtype: DType;
  /** Numbers are fixed; a string names a dynamic dim ('batch', 'height', 'width', 'sequence'), equal across inputs. */
  shape: readonly Dim[];
  /** May be left out of `run`; the request then lists what was fed. */
  optional?: boolean;
}

/** What a family's graph builder is asked for: the outputs, kernel and precision, and the sizes it is specialized on. */
export interface GraphRequest {
  outputHiddenStates: boolean;
  outputAttentions: boolean;
  attentionKernel: AttentionKernelName;
  /** How multi-scale deformable attention samples (the backend's default; see `multiScaleDeformableAttention`). */
  deformableSamplingKernel: DeformableSamplingKernelName;
  /**
   * Precision the graph will be serialized in. Builders emit float32 and need not act on it: the
   * serialization rewrites the graph (fp16 casts, quantized Linears).
   */
  dtype: ModelDtype;
  /** Optional declared inputs that are fed (and so are graph inputs). */
  inputs: readonly string[];
  /** Values of the dynamic dims this graph is specialized on (`specializedDims`), e.g. { height: 224, width: 224 }. */
  dims: Readonly<Record<string, number>>;
}

/** A family builder's result: named outputs, and tuples core flattens as Hugging Face does. */
export interface GraphOutputs {
  /** Top-level outputs under their Hugging Face names (`last_hidden_state`, `logits`, …). */
  outputs: Record<string, Value | undefined>;
  /**
   * Tuple outputs, written `<name>_<i>` (`hidden_states_0`, …); a tuple named `attentions` also gets
   * `attentions_last`. Only asked-for tuples need be returned.
   */
  tuples?: Record<string, readonly Value[]>;
}

/** Named input tensors (`pixel_values`, `pixel_mask`, `input_ids`, …), as Hugging Face names them. */
export type ModelInputs = Record<string, Tensor | undefined>;

interface SessionEntry {
  session: Promise<ModelSession>;
  nodeCount?: number;
  /** Runs in flight; an evicted session is released once they end. */
  busy: number;
  evicted: boolean;
}

/**
 * A Hugging Face checkpoint turned into onnxruntime sessions. A family declares its inputs and
 * builds the graph from them; this class creates the builder and its inputs, names the outputs as
 * Hugging Face does, checks what `run` is given, and keeps a bounded set of sessions, one per
 * (specialized sizes, outputs asked for, optional inputs fed).
 */
export abstract class VisionModel {
  readonly files: PretrainedFiles;
  readonly device: Device;
  readonly options: Required<Pick<ModelOptions, 'dtype'>> & ModelOptions;
  private processor: ImageProcessor | undefined;
  private readonly sessions: LRUCache<string, SessionEntry>;

  constructor(files: PretrainedFiles, options: ModelOptions = {}) {
    const dtype = options.dtype ?? 'fp32';
    this.files = files;
    this.device = options.device ?? defaultDevice();
    checkPrecisionDevice(dtype, this.device);
    const maxSessions = options.maxSessions ?? 4;
    if (!Number.isInteger(maxSessions) || maxSessions < 1) {
      throw new VitkitError('INVALID_ARGUMENT', `maxSessions must be a positive integer, got ${maxSessions}.`);
    }
    this.options = { ...options, dtype };
    this.sessions = new LRUCache<string, SessionEntry>({
      max: maxSessions,
      dispose: (entry) => {
        entry.evicted = true;
        if (entry.busy === 0) releaseSession(entry);
      },
    });
  }

  /** `config.json` → `architectures[0]`, the class this model reproduces. */
  abstract readonly architecture: string;

  /** The graph's inputs. Default: `pixel_values` [batch, channels, height, width] float32. */
  get inputSpecs(): readonly InputSpec[] {
    return [{ name: 'pixel_values', dtype: 'float32', shape: ['batch', this.pixelChannels, 'height', 'width'] }];
  }

  /** Image channels: config.json's `num_channels`, 3 when absent (transformers' vision configs all name it so). */
  protected get pixelChannels(): number {
    return new ConfigReader(this.files.config).int('num_channels', 3);
  }

  /**
   * Dynamic dims whose values are constants of the graph (position embeddings interpolated to the
   * grid, Swin's window masks): one graph per value. A family whose math allows dynamic sizes
   * returns fewer, and one session serves them all.
   */
  protected get specializedDims(): readonly string[] {
    return ['height', 'width'];
  }

  /** The processor a checkpoint without `preprocessor_config.json` gets (its HF class defaults). */
  protected defaultProcessorConfig(): PreprocessorConfig | undefined {
    return undefined;
  }

  /** The checkpoint's Hugging Face image processor (from preprocessor_config.json, else the family default). */
  get imageProcessor(): ImageProcessor {
    if (!this.processor) {
      const config = (this.files.preprocessorConfig as PreprocessorConfig | undefined) ?? this.defaultProcessorConfig();
      if (!config) {
        throw new VitkitError(
          'PROCESSOR_CONFIG_INVALID',
          `${this.files.source} has no preprocessor_config.json; pass preprocessed pixel_values instead.`,
        );
      }
      this.processor = createImageProcessor(config);
    }
    return this.processor;
  }

  /** pixel_values for images (preprocessed as the checkpoint's processor does), or the tensor given as is. */
  protected async pixelValues(input: ImageSource | ImageSource[] | Tensor, options?: LoadImageOptions): Promise<Tensor> {
    return input instanceof Tensor ? input : (await this.preprocess(input, options)).pixel_values;
  }

  /** Decodes and preprocesses images exactly as the checkpoint's Hugging Face processor does. */
  async preprocess(images: ImageSource | ImageSource[], options?: LoadImageOptions): Promise<ProcessorOutput> {
    return this.imageProcessor.process(images, options);
  }

  /**
   * Builds the graph on `inputs` (the declared inputs, specialized dims as numbers). Output names
   * follow Hugging Face; core adds the tuples' flattened names.
   */
  protected abstract buildGraph(g: GraphBuilder, inputs: Readonly<Record<string, Value>>, request: GraphRequest): GraphOutputs;

  /** Loads a local folder or Hub id (see `loadPretrained`) as this model class. */
  static async fromPretrained<T extends VisionModel, O extends ModelOptions = ModelOptions>(
    this: new (
      files: PretrainedFiles,
      options?: O,
    ) => T,
    idOrPath: string,
    options?: O & PretrainedOptions,
  ): Promise<T> {
    // In a browser, onnxruntime-web's wasm starts while the weights download (see prepareRuntime).
    const [files] = await Promise.all([loadPretrained(idOrPath, options), prepareRuntime(options)]);
    return new this(files, options);
  }

  /** Whether the graph ends in a classification head with `logits` (families override). */
  get hasClassifier(): boolean {
    return false;
  }

  /**
   * Top classes per image: softmax over `logits`, names from config.json's `id2label`. Takes images
   * (preprocessed as the checkpoint's processor does) or pixel_values [B, 3, H, W].
   */
  async classify(input: ImageSource | ImageSource[] | Tensor, options: ClassifyOptions = {}): Promise<Classification[][]> {
    if (!this.hasClassifier) {
      throw new VitkitError(
        'MODEL_TYPE_UNSUPPORTED',
        `${this.architecture} has no classification head; load an …ForImageClassification checkpoint.`,
      );
    }
    const pixels = await this.pixelValues(input, options.load);
    const { logits } = await this.run({ pixel_values: pixels });
    return topClasses(logits, readId2Label(this.files.config), options.topK);
  }

  /**
   * Runs the model on named inputs (each a declared input; see `inputSpecs`). Outputs keep Hugging
   * Face's names, tuples flattened `<name>_<i>` plus `attentions_last`.
   */
  async run(inputs: ModelInputs, options: ForwardOptions = {}): Promise<Record<string, Tensor>> {
    const { feeds, dims } = this.checkInputs(inputs);
    const entry = this.entry(this.request(options, Object.keys(feeds), dims));
    entry.busy++;
    try {
      return await (await entry.session).run(feeds);
    } finally {
      entry.busy--;
      if (entry.evicted && entry.busy === 0) releaseSession(entry);
    }
  }

  /**
   * The graph for one input size, as built before serialization (for inspection, FLOP counts and
   * export): height and width are numbers in it even where `run`'s graph keeps them dynamic.
   */
  graphFor(height: number, width: number, options: ForwardOptions & { inputs?: readonly string[] } = {}): GraphBuilder {
    const request = this.request(options, options.inputs ?? this.requiredInputs(), {});
    return this.build({ ...request, dims: { height, width } });
  }

  /** The graph `run` builds for inputs of this size: dims the family keeps dynamic stay symbolic in it. */
  runGraphFor(height: number, width: number, options: ForwardOptions & { inputs?: readonly string[] } = {}): GraphBuilder {
    return this.build(this.request(options, options.inputs ?? this.requiredInputs(), { height, width }));
  }

  /** `graphFor`'s graph serialized in the model's precision. */
  modelProtoFor(height: number, width: number, options: ForwardOptions = {}): Uint8Array {
    return encodeModel(serialize(this.graphFor(height, width, options), this.options.dtype));
  }

  /**
   * Builds and loads the session for an input size ahead of the first call. `fromCache`: it came
   * from the optimized-model cache, so no graph was built (and `nodeCount` is unknown).
   */
  async warmup(height: number, width: number, options: ForwardOptions = {}): Promise<{ nodeCount?: number; fromCache: boolean }> {
    const entry = this.entry(this.request(options, this.requiredInputs(), { height, width }));
    const session = await entry.session;
    return { nodeCount: entry.nodeCount, fromCache: session.fromCache };
  }

  /** The bound on sessions held (`ModelOptions.maxSessions`, default 4). */
  get maxSessions(): number {
    return this.sessions.max;
  }

  /** Sessions held now (at most `maxSessions`). */
  get sessionCount(): number {
    return this.sessions.size;
  }

  async dispose(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map(async (e) => (await e.session.catch(() => undefined))?.dispose()));
  }

  protected sessionOptions(): SessionOptions {
    const { threads, spinning, optimizedModelCache, externalDataThreshold, graphCache, graphOptimization } = this.options;
    return { device: this.device, threads, spinning, optimizedModelCache, externalDataThreshold, graphCache, graphOptimization };
  }

  private requiredInputs(): string[] {
    return this.inputSpecs.filter((s) => !s.optional).map((s) => s.name);
  }

  /** Checks names, dtypes and shapes against the declared inputs; returns the feeds in the graph's dtypes. */
  private checkInputs(inputs: ModelInputs): { feeds: Record<string, Tensor>; dims: Record<string, number> } {
    const specs = this.inputSpecs;
    for (const name of Object.keys(inputs)) {
      if (inputs[name] !== undefined && !specs.some((s) => s.name === name)) {
        throw new VitkitError(
          'INPUT_INVALID',
          `${this.architecture} takes no input "${name}"; it takes ${specs.map((s) => s.name).join(', ')}.`,
        );
      }
    }
    const feeds: Record<string, Tensor> = {};
    const dims: Record<string, number> = {};
    const describe = (s: InputSpec) => `${s.dtype} [${s.shape.join(', ')}]`;
    for (const spec of specs) {
      const t = inputs[spec.name];
      if (t === undefined) {
        if (spec.optional) continue;
        throw new VitkitError('INPUT_MISSING', `${this.architecture} needs "${spec.name}", ${describe(spec)}.`);
      }
      if (!(t instanceof Tensor)) throw new VitkitError('INPUT_INVALID', `"${spec.name}" must be a Tensor.`);
      const bad = () =>
        new VitkitError('INPUT_SHAPE_INVALID', `${spec.name} must be ${describe(spec)}, got ${t.dtype} [${t.shape.join(', ')}].`);
      if (t.rank !== spec.shape.length) throw bad();
      spec.shape.forEach((d, i) => {
        const actual = t.shape[i];
        if (typeof d === 'number') {
          if (actual !== d) throw bad();
        } else if (dims[d] === undefined) {
          dims[d] = actual;
        } else if (dims[d] !== actual) {
          throw new VitkitError(
            'INPUT_SHAPE_INVALID',
            `${spec.name} has ${d} = ${actual} but an earlier input has ${d} = ${dims[d]} (shape [${t.shape.join(', ')}]).`,
          );
        }
      });
      feeds[spec.name] = castInput(t, spec, bad);
    }
    return { feeds, dims };
  }

  private request(o: ForwardOptions, fed: readonly string[], dims: Readonly<Record<string, number>>): GraphRequest {
    const optional = new Set(this.inputSpecs.filter((s) => s.optional).map((s) => s.name));
    const specialized: Record<string, number> = {};
    for (const d of this.specializedDims) if (dims[d] !== undefined) specialized[d] = dims[d];
    return {
      outputHiddenStates: o.outputHiddenStates ?? false,
      outputAttentions: o.outputAttentions ?? false,
      attentionKernel: this.options.attentionKernel ?? defaultAttentionKernel(this.device),
      deformableSamplingKernel: defaultDeformableSamplingKernel(this.device),
      dtype: this.options.dtype,
      inputs: fed.filter((n) => optional.has(n)).sort(),
      dims: specialized,
    };
  }

  /** A builder with the declared inputs (specialized dims as numbers), the family's graph, and HF's output names. */
  private build(request: GraphRequest): GraphBuilder {
    const g = new GraphBuilder({
      name: this.architecture,
      attentionKernel: request.attentionKernel,
      deformableSamplingKernel: request.deformableSamplingKernel,
    });
    const values: Record<string, Value> = {};
    for (const spec of this.inputSpecs) {
      if (spec.optional && !request.inputs.includes(spec.name)) continue;
      const shape = spec.shape.map((d) => (typeof d === 'string' && request.dims[d] !== undefined ? request.dims[d] : d));
      values[spec.name] = g.input(spec.name, spec.dtype, shape);
    }
    const { outputs, tuples = {} } = this.buildGraph(g, values, request);
    for (const [name, value] of Object.entries(outputs)) if (value) g.output(value, name);
    for (const [name, list] of Object.entries(tuples)) {
      list.forEach((v, i) => g.output(v, `${name}_${i}`));
      if (name === 'attentions' && list.length > 0) g.output(identity(g, list[list.length - 1]), 'attentions_last');
    }
    return g;
  }

  /** What the graph for `request` depends on, when the checkpoint's files can be identified (Node; browsers, by their validators). */
  private graphCacheKey(request: GraphRequest): string | undefined {
    if (!this.files.fingerprint) return undefined;
    const { dtype, attentionKernel } = this.options;
    return JSON.stringify({
      checkpoint: this.files.fingerprint,
      architecture: this.architecture,
      options: { dtype, attentionKernel },
      request,
    });
  }

  private entry(request: GraphRequest): SessionEntry {
    const key = JSON.stringify(request);
    let entry = this.sessions.get(key);
    if (!entry) {
      const created: SessionEntry = { busy: 0, evicted: false, session: Promise.resolve() as unknown as Promise<ModelSession> };
      const report = this.options.onLoadProgress;
      const compile = () => {
        const start = performance.now();
        report?.({ stage: 'graph', state: 'start' });
        const g = this.build(request);
        created.nodeCount = g.nodeCount;
        const parts = serialize(g, request.dtype);
        report?.({ stage: 'graph', state: 'done', ms: performance.now() - start, nodeCount: g.nodeCount });
        return parts;
      };
      created.session = ModelSession.create(compile, {
        ...this.sessionOptions(),
        cacheKey: this.graphCacheKey(request),
        onSessionProgress: report,
      });
      created.session.catch(() => {
        if (this.sessions.peek(key) === created) this.sessions.delete(key);
      });
      this.sessions.set(key, created);
      entry = created;
    }
    return entry;
  }
}

/**
 * As the graph is run: the precision pass turns the float32 graph into fp16/int8/int4. Parts, not
 * bytes, so the session can write large weights as external data rather than one protobuf.
 */
function serialize(g: GraphBuilder, dtype: ModelDtype): GraphParts {
  return servedGraphParts(g, { weightPrecision: dtype });
}

function releaseSession(entry: SessionEntry): void {
  entry.session.then(
    (s) => s.dispose(),
    () => undefined,
  );
}

/** The tensor in the graph's dtype: float inputs take any numeric tensor; integer inputs take integers. */
function castInput(t: Tensor, spec: InputSpec, bad: () => VitkitError): Tensor {
  if (t.dtype === spec.dtype) return t;
  if (spec.dtype === 'float32' && t.dtype !== 'bool') return new Tensor('float32', toFloat32Array(t), t.shape);
  if (spec.dtype === 'int64' && (t.dtype === 'int32' || t.dtype === 'int16' || t.dtype === 'int8' || t.dtype === 'uint8')) {
    return new Tensor(
      'int64',
      BigInt64Array.from(t.data as ArrayLike<number>, (v) => BigInt(v)),
      t.shape,
    );
  }
  throw bad();
}
