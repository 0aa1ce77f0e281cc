import { VitkitError } from '../errors/vitkit-error.js';
import { BYTES_PER_ELEMENT, type DType } from '../tensor/dtype.js';
import { shapeSize, type Tensor } from '../tensor/tensor.js';

/** What a checkpoint says of a tensor before its data is read. */
export interface WeightInfo {
  dtype: DType;
  shape: readonly number[];
}

/**
 * Named checkpoint tensors, as Hugging Face's state dict names them. Model builders read through
 * `get`, which names the missing key and the checkpoint instead of failing later with `undefined`.
 *
 * A store may defer its data: names, dtypes and shapes come from the file headers and the data is
 * read on `get`, so a model whose compiled graph is cached never reads its weights at all.
 */
export class WeightStore {
  readonly source: string;
  private info: ReadonlyMap<string, WeightInfo>;
  /** The named tensor's data; undefined when it cannot be had. */
  private readTensor: (name: string) => Tensor | undefined;
  /** Key prefix of a `scoped` view, so errors name the checkpoint's full key. */
  private keyPrefix = '';

  constructor(tensors: Map<string, Tensor>, source = 'checkpoint') {
    this.source = source;
    this.info = tensors;
    this.readTensor = (name) => tensors.get(name);
  }

  /** A store whose data `read` returns when a tensor is first asked for (once; the result is kept). */
  static deferred(info: Map<string, WeightInfo>, read: () => Map<string, Tensor>, source = 'checkpoint'): WeightStore {
    let data: Map<string, Tensor> | undefined;
    return WeightStore.onDemand(
      info,
      (name) => {
        data ??= read();
        return data.get(name);
      },
      source,
    );
  }

  /**
   * A store that reads each tensor when `get` asks for it, and keeps none: whoever asked (a graph
   * builder) holds it as long as it needs, so a checkpoint's data is never in memory twice on
   * account of the store. Each `get` of a name reads it again.
   */
  static onDemand(
    info: ReadonlyMap<string, WeightInfo>,
    readTensor: (name: string) => Tensor | undefined,
    source = 'checkpoint',
  ): WeightStore {
    const store = new WeightStore(new Map(), source);
    store.info = info;
    store.readTensor = readTensor;
    return store;
  }

  has(name: string): boolean {
    return this.info.has(name);
  }

  keys(): string[] {
    return [...this.info.keys()];
  }

  /** `name` as the checkpoint spells it (with the prefixes of the `scoped` views this store is under). */
  fullKey(name: string): string {
    return this.keyPrefix + name;
  }

  /** What the tensors weigh in the checkpoint's own dtypes, from the headers (no data is read). */
  get byteLength(): number {
    let n = 0;
    for (const { dtype, shape } of this.info.values()) n += shapeSize(shape) * BYTES_PER_ELEMENT[dtype];
    return n;
  }

  /** The tensor's shape, without reading its data. */
  shapeOf(name: string): readonly number[] {
    return this.describe(name).shape;
  }

  get(name: string, expectedShape?: readonly number[]): Tensor {
    const { shape } = this.describe(name);
    if (expectedShape && (expectedShape.length !== shape.length || expectedShape.some((d, i) => d !== shape[i]))) {
      throw new VitkitError(
        'WEIGHTS_SHAPE_MISMATCH',
        `${this.source}: tensor "${this.fullKey(name)}" has shape [${shape.join(', ')}] but config.json implies [${expectedShape.join(', ')}].`,
      );
    }
    const t = this.readTensor(name);
    if (!t)
      throw new VitkitError('WEIGHTS_TRUNCATED', `${this.source}: tensor "${this.fullKey(name)}" is in the header but could not be read.`);
    return t;
  }

  /** A view that reads keys under `prefix` (e.g. `dinov2.`), as sub-modules do; it reads through this store. */
  scoped(prefix: string): WeightStore {
    const sub = new Map<string, WeightInfo>();
    for (const [k, v] of this.info) if (k.startsWith(prefix)) sub.set(k.slice(prefix.length), v);
    const view = WeightStore.onDemand(sub, (name) => this.readTensor(prefix + name), this.source);
    view.keyPrefix = this.keyPrefix + prefix;
    return view;
  }

  /** First prefix under which `probe` exists, so one builder serves both base and head checkpoints. */
  findPrefix(probe: string, candidates: readonly string[]): string | undefined {
    return candidates.find((p) => this.info.has(p + probe));
  }

  private describe(name: string): WeightInfo {
    const t = this.info.get(name);
    if (!t) {
      throw new VitkitError(
        'WEIGHTS_MISSING_TENSOR',
        `${this.source} has no tensor "${this.fullKey(name)}". Is the checkpoint for a different model class or version?`,
      );
    }
    return t;
  }
}
