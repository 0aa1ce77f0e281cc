import type { AttentionKernelName } from '../attention/attention.js';
import { readId2Label } from '../config/model-config.js';
import { VitkitError } from '../errors/vitkit-error.js';
import type { GraphBuilder } from '../graph/graph-builder.js';
import type { WeightPrecision } from '../graph/precision/weight-precision.js';
import { serializeGraph } from '../graph/serialize-graph.js';
import { loadPretrained, type PretrainedFiles, type PretrainedOptions } from '../hub/load-pretrained.js';
import type { ImageSource, LoadImageOptions } from '../image/image-source.js';
import { createImageProcessor, type ImageProcessor, type PreprocessorConfig, type ProcessorOutput } from '../preprocess/image-processor.js';
import { checkPrecisionDevice, type Device, defaultAttentionKernel } from '../runtime/device.js';
import { defaultDevice, ModelSession, type SessionOptions } from '../runtime/model-session.js';
import { Tensor } from '../tensor/tensor.js';
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
  /** Override the backend's default attention kernel. */
  attentionKernel?: AttentionKernelName;
  /**
   * Node, cpu: keep each compiled graph (onnxruntime's optimized model) on disk, keyed by the
   * checkpoint's files, the input size, these options and the vitkit/onnxruntime versions. A later
   * process then skips reading the weights, building the graph and optimizing it. `true` uses
   * `$VITKIT_CACHE/optimized` (default ~/.cache/vitkit/optimized); a string names the folder.
   */
  optimizedModelCache?: boolean | string;
}

export interface ForwardOptions {
  outputHiddenStates?: boolean;
  outputAttentions?: boolean;
}

/** What a family's graph builder is asked for: one input size and set of outputs. */
export interface GraphRequest {
  height: number;
  width: number;
  outputHiddenStates: boolean;
  outputAttentions: boolean;
  attentionKernel: AttentionKernelName;
  /** Whether a `pixel_mask` input is wired (DETR). */
  withPixelMask: boolean;
  /**
   * Precision the graph will be serialized in. Builders emit float32 and need not act on it: the
   * `serializeGraph(g, { weightPrecision })` rewrites the graph (fp16 casts, quantized Linears).
   */
  dtype?: ModelDtype;
}

export interface ModelInputs {
  /** [B, 3, H, W] float32 */
  pixel_values: Tensor;
  /** [B, H, W], 1 = real pixel (DETR). */
  pixel_mask?: Tensor;
}

/**
 * A Hugging Face checkpoint turned into onnxruntime sessions. A family supplies `buildGraph`;
 * this class caches one graph and session per (input size, outputs asked for), because position
 * embeddings and window masks are constants of the input size.
 */
export abstract class VisionModel {
  readonly files: PretrainedFiles;
  readonly device: Device;
  readonly options: Required<Pick<ModelOptions, 'dtype'>> & ModelOptions;
  private processor: ImageProcessor | undefined;
  private readonly sessions = new Map<string, Promise<{ session: ModelSession; nodeCount?: number }>>();

  constructor(files: PretrainedFiles, options: ModelOptions = {}) {
    const dtype = options.dtype ?? 'fp32';
    this.files = files;
    this.device = options.device ?? defaultDevice();
    checkPrecisionDevice(dtype, this.device);
    this.options = { ...options, dtype };
  }

  /** `config.json` → `architectures[0]`, the class this model reproduces. */
  abstract readonly architecture: string;

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

  /** Builds the graph for one request. Output names follow Hugging Face (see `run`). */
  protected abstract buildGraph(request: GraphRequest): GraphBuilder;

  /** Loads a local folder or Hub id (see `loadPretrained`) as this model class. */
  static async fromPretrained<T extends VisionModel, O extends ModelOptions = ModelOptions>(
    this: new (
      files: PretrainedFiles,
      options?: O,
    ) => T,
    idOrPath: string,
    options?: O & PretrainedOptions,
  ): Promise<T> {
    return new this(await loadPretrained(idOrPath, options), options);
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

  /** Runs the model on preprocessed inputs; outputs keep HF names, tuples flattened `<name>_<i>`. */
  async run(inputs: ModelInputs, options: ForwardOptions = {}): Promise<Record<string, Tensor>> {
    const px = inputs.pixel_values;
    if (px.rank !== 4 || px.shape[1] !== 3 || px.dtype !== 'float32') {
      throw new VitkitError(
        'INPUT_SHAPE_INVALID',
        `pixel_values must be float32 [batch, 3, height, width], got ${px.dtype} [${px.shape.join(', ')}].`,
      );
    }
    const [batch, , height, width] = px.shape;
    if (
      inputs.pixel_mask &&
      (inputs.pixel_mask.rank !== 3 ||
        inputs.pixel_mask.shape[0] !== batch ||
        inputs.pixel_mask.shape[1] !== height ||
        inputs.pixel_mask.shape[2] !== width)
    ) {
      throw new VitkitError(
        'INPUT_SHAPE_INVALID',
        `pixel_mask must be [${batch}, ${height}, ${width}], got [${inputs.pixel_mask.shape.join(', ')}].`,
      );
    }
    const request = this.request(height, width, options, inputs.pixel_mask !== undefined);
    const { session } = await this.session(request);
    const feeds: Record<string, Tensor> = { pixel_values: px };
    if (request.withPixelMask && inputs.pixel_mask) feeds.pixel_mask = inputs.pixel_mask;
    return session.run(feeds);
  }

  /** The serialized graph for an input size (for inspection, export and benchmarks). */
  graphFor(height: number, width: number, options: ForwardOptions & { withPixelMask?: boolean } = {}): GraphBuilder {
    return this.buildGraph(this.request(height, width, options, options.withPixelMask ?? false));
  }

  /**
   * Builds and loads the session for an input size ahead of the first call. `fromCache`: it came
   * from the optimized-model cache, so no graph was built (and `nodeCount` is unknown).
   */
  async warmup(height: number, width: number, options: ForwardOptions = {}): Promise<{ nodeCount?: number; fromCache: boolean }> {
    const { session, nodeCount } = await this.session(this.request(height, width, options, false));
    return { nodeCount, fromCache: session.fromCache };
  }

  async dispose(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    for (const s of all) await (await s).session.dispose();
  }

  protected sessionOptions(): SessionOptions {
    return { device: this.device, threads: this.options.threads, optimizedModelCache: this.options.optimizedModelCache };
  }

  /** What the graph for `request` depends on, when the checkpoint's files can be identified (Node). */
  private graphCacheKey(request: GraphRequest): string | undefined {
    if (!this.files.fingerprint) return undefined;
    const { threads: _threads, optimizedModelCache: _cache, device: _device, ...graphOptions } = this.options;
    return JSON.stringify({ checkpoint: this.files.fingerprint, model: this.constructor.name, options: graphOptions, request });
  }

  private request(height: number, width: number, o: ForwardOptions, withPixelMask: boolean): GraphRequest {
    return {
      height,
      width,
      outputHiddenStates: o.outputHiddenStates ?? false,
      outputAttentions: o.outputAttentions ?? false,
      attentionKernel: this.options.attentionKernel ?? defaultAttentionKernel(this.device),
      withPixelMask,
      dtype: this.options.dtype,
    };
  }

  private session(request: GraphRequest) {
    const key = JSON.stringify(request);
    let entry = this.sessions.get(key);
    if (!entry) {
      entry = (async () => {
        let nodeCount: number | undefined;
        const build = () => {
          const g = this.buildGraph(request);
          nodeCount = g.nodeCount;
          return serializeGraph(g, { weightPrecision: request.dtype ?? 'fp32' });
        };
        const session = await ModelSession.create(build, { ...this.sessionOptions(), cacheKey: this.graphCacheKey(request) });
        return { session, nodeCount };
      })();
      entry.catch(() => this.sessions.delete(key));
      this.sessions.set(key, entry);
    }
    return entry;
  }
}
