import { VitkitError } from '../errors/vitkit-error.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * Named checkpoint tensors, as Hugging Face's state dict names them. Model builders read through
 * `get`, which names the missing key and the checkpoint instead of failing later with `undefined`.
 */
export class WeightStore {
  readonly source: string;
  private readonly tensors: Map<string, Tensor>;

  constructor(tensors: Map<string, Tensor>, source = 'checkpoint') {
    this.tensors = tensors;
    this.source = source;
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  keys(): string[] {
    return [...this.tensors.keys()];
  }

  get(name: string, expectedShape?: readonly number[]): Tensor {
    const t = this.tensors.get(name);
    if (!t) {
      throw new VitkitError(
        'WEIGHTS_MISSING_TENSOR',
        `${this.source} has no tensor "${name}". Is the checkpoint for a different model class or version?`,
      );
    }
    if (expectedShape && (expectedShape.length !== t.shape.length || expectedShape.some((d, i) => d !== t.shape[i]))) {
      throw new VitkitError(
        'WEIGHTS_SHAPE_MISMATCH',
        `${this.source}: tensor "${name}" has shape [${t.shape.join(', ')}] but config.json implies [${expectedShape.join(', ')}].`,
      );
    }
    return t;
  }

  /** A view that reads keys under `prefix` (e.g. `dinov2.`), as sub-modules do. */
  scoped(prefix: string): WeightStore {
    const sub = new Map<string, Tensor>();
    for (const [k, v] of this.tensors) if (k.startsWith(prefix)) sub.set(k.slice(prefix.length), v);
    return new WeightStore(sub, `${this.source} (${prefix})`);
  }

  /** First prefix under which `probe` exists, so one builder serves both base and head checkpoints. */
  findPrefix(probe: string, candidates: readonly string[]): string | undefined {
    return candidates.find((p) => this.tensors.has(p + probe));
  }
}
