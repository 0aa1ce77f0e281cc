import { VitkitError } from '@vitkit/core';

export interface KnnOptions {
  /** Neighbours that vote (DINO: 20). */
  k?: number;
  /** Softmax temperature on cosine similarity (DINO: 0.07). */
  temperature?: number;
}

export interface KnnPrediction {
  label: string;
  score: number;
}

/**
 * k-NN over stored embeddings following DINO's evaluation protocol: L2-normalised features,
 * cosine similarity, the k most similar vote with weight exp(sim / T), classes ranked by total vote.
 */
export class KnnClassifier {
  readonly k: number;
  readonly temperature: number;
  private readonly features: Float32Array[] = [];
  private readonly labels: string[] = [];
  private dim = 0;

  constructor(options: KnnOptions = {}) {
    this.k = options.k ?? 20;
    this.temperature = options.temperature ?? 0.07;
    if (!(this.k >= 1) || !(this.temperature > 0)) throw new VitkitError('INVALID_ARGUMENT', 'k must be >= 1 and temperature > 0.');
  }

  get size(): number {
    return this.features.length;
  }

  /** Stores one embedding per label (e.g. each image's `cls` from `embed`). */
  add(embedding: ArrayLike<number>, label: string): void {
    if (this.dim === 0) this.dim = embedding.length;
    if (embedding.length !== this.dim) {
      throw new VitkitError('TENSOR_SHAPE_MISMATCH', `Embedding has ${embedding.length} values; this classifier stores ${this.dim}.`);
    }
    this.features.push(l2Normalize(embedding));
    this.labels.push(label);
  }

  /** Classes ranked by weighted vote, scores normalised to sum to 1. */
  predict(embedding: ArrayLike<number>): KnnPrediction[] {
    if (this.size === 0) throw new VitkitError('INVALID_ARGUMENT', 'The k-NN classifier has no stored embeddings; add some first.');
    if (embedding.length !== this.dim) {
      throw new VitkitError('TENSOR_SHAPE_MISMATCH', `Query has ${embedding.length} values; stored embeddings have ${this.dim}.`);
    }
    const q = l2Normalize(embedding);
    const sims = this.features.map((f, i) => ({ i, sim: dot(f, q) }));
    sims.sort((a, b) => b.sim - a.sim);
    const votes = new Map<string, number>();
    for (const { i, sim } of sims.slice(0, this.k)) {
      votes.set(this.labels[i], (votes.get(this.labels[i]) ?? 0) + Math.exp(sim / this.temperature));
    }
    const total = [...votes.values()].reduce((a, b) => a + b, 0);
    return [...votes].map(([label, v]) => ({ label, score: v / total })).sort((a, b) => b.score - a.score);
  }
}

function l2Normalize(v: ArrayLike<number>): Float32Array {
  let n = 0;
  for (let i = 0; i < v.length; i++) n += v[i] * v[i];
  const inv = 1 / Math.max(Math.sqrt(n), 1e-12);
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i] * inv;
  return out;
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
