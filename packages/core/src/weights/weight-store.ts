import { VitkitError } from '../errors/vitkit-error.js';
import type { DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';

/** What a checkpoint says of a tensor before its data is read. */
export interface WeightInfo {
  dtype: DType;
  shape: readonly number[];
}

/**
 * Named checkpoint tensors, as Hugging Face's state dict names them. Model builders read through
 * `get`, which names the missing key and the checkpoint instead of failing later with `undefined`.
 *
 * A store may be deferred: names, dtypes and shapes come from the file headers and the data is read
 * on the first `get`, so a model whose compiled graph is cached never reads its weights at all.
 */
export class WeightStore {
  readonly source: string;
  private info: Map<string, WeightInfo>;
  /** The tensors once read; `read` fills it on the first `get` of a deferred store. */
  private data: Map<string, Tensor> | undefined;
  private read: () => Map<string, Tensor> = () => new Map();
  /** Key prefix of a `scoped` view, so errors name the checkpoint's full key. */
  private keyPrefix = '';

  constructor(tensors: Map<string, Tensor>, source = 'checkpoint') {
    this.source = source;
    this.info = tensors;
    this.data = tensors;
  }

  /** A store whose data `read` returns when a tensor is first asked for (once; the result is kept). */
  static deferred(info: Map<string, WeightInfo>, read: () => Map<string, Tensor>, source = 'checkpoint'): WeightStore {
    const store = new WeightStore(new Map(), source);
    store.info = info;
    store.data = undefined;
    store.read = read;
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
    const t = this.tensors().get(name);
    if (!t)
      throw new VitkitError('WEIGHTS_TRUNCATED', `${this.source}: tensor "${this.fullKey(name)}" is in the header but could not be read.`);
    return t;
  }

  /** A view that reads keys under `prefix` (e.g. `dinov2.`), as sub-modules do; it shares this store's data. */
  scoped(prefix: string): WeightStore {
    const sub = new Map<string, WeightInfo>();
    for (const [k, v] of this.info) if (k.startsWith(prefix)) sub.set(k.slice(prefix.length), v);
    const view = WeightStore.deferred(
      sub,
      () => {
        const all = this.tensors();
        const tensors = new Map<string, Tensor>();
        for (const k of sub.keys()) tensors.set(k, all.get(prefix + k) as Tensor);
        return tensors;
      },
      this.source,
    );
    view.keyPrefix = this.keyPrefix + prefix;
    return view;
  }

  /** First prefix under which `probe` exists, so one builder serves both base and head checkpoints. */
  findPrefix(probe: string, candidates: readonly string[]): string | undefined {
    return candidates.find((p) => this.info.has(p + probe));
  }

  private tensors(): Map<string, Tensor> {
    this.data ??= this.read();
    return this.data;
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
