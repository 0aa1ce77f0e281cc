import type { ConfigReader, RawConfig } from '../config/model-config.js';
import { VitkitError } from '../errors/vitkit-error.js';
import { Tensor } from '../tensor/tensor.js';

// The state dict a config.json implies — names and shapes as Hugging Face's modules create them —
// declared by each family, so the bench can synthesize real-size checkpoints with no download and
// the contract test can hold every declaration to the fixture checkpoints' own keys.
//
// Why a declared list rather than a store that fabricates tensors on `get`: builders discover
// structure from the weights (DETR's backbone counts blocks with `has()`, the ViT builders probe
// prefixes and optional tensors), so a store that only answers what it is asked cannot know what to
// answer.

/** How a synthesized tensor is drawn; scales keep activations O(1) (denormals and NaNs would skew timings). */
export type WeightInit = 'normal' | 'one' | 'bias' | 'var' | 'fanin' | 'buffer';

export interface TensorSpec {
  shape: number[];
  init: WeightInit;
  /** A `buffer`'s fixed value (e.g. Swin's relative_position_index), not drawn at random. */
  value?: Tensor;
}

/** Checkpoint key → shape and how to synthesize it, in the module's creation order. */
export type StateDictSpec = Map<string, TensorSpec>;

/** Collects a state dict with the shapes of the common layers (nn.Linear, nn.LayerNorm, …). */
export class StateDictBuilder {
  readonly spec: StateDictSpec = new Map();

  tensor(name: string, shape: number[], init: WeightInit): void {
    this.spec.set(name, { shape, init });
  }

  /** A registered buffer with a fixed value (index tables and the like). */
  buffer(name: string, value: Tensor): void {
    this.spec.set(name, { shape: [...value.shape], init: 'buffer', value });
  }

  /** nn.Linear(inp, out): weight [out, inp] (+ bias [out]). */
  linear(name: string, out: number, inp: number, bias = true): void {
    this.tensor(`${name}.weight`, [out, inp], 'normal');
    if (bias) this.tensor(`${name}.bias`, [out], 'bias');
  }

  layerNorm(name: string, dim: number): void {
    this.tensor(`${name}.weight`, [dim], 'one');
    this.tensor(`${name}.bias`, [dim], 'bias');
  }

  /** A frozen or trained BatchNorm2d's four tensors. */
  batchNorm(name: string, channels: number): void {
    this.tensor(`${name}.weight`, [channels], 'one');
    this.tensor(`${name}.bias`, [channels], 'bias');
    this.tensor(`${name}.running_mean`, [channels], 'bias');
    this.tensor(`${name}.running_var`, [channels], 'var');
  }

  conv(name: string, out: number, inp: number, kh: number, kw = kh, bias = false): void {
    this.tensor(`${name}.weight`, [out, inp, kh, kw], 'fanin');
    if (bias) this.tensor(`${name}.bias`, [out], 'bias');
  }

  /** `embeddings.patch_embeddings.projection` (conv, kernel = stride = patch); returns the number of patches at `image_size`. */
  patchEmbedding(c: ConfigReader, prefix: string, hidden: number): number {
    const [ph, pw] = c.pair('patch_size');
    this.conv(`${prefix}embeddings.patch_embeddings.projection`, hidden, c.int('num_channels', 3), ph, pw, true);
    const [ih, iw] = c.pair('image_size');
    return Math.floor(ih / ph) * Math.floor(iw / pw);
  }

  /** ViT/DeiT encoder layers: attention (query/key/value/output.dense), layernorm_before/after, intermediate/output.dense. */
  vitEncoderLayers(c: ConfigReader, prefix: string): void {
    const h = c.int('hidden_size');
    const inter = c.int('intermediate_size');
    for (let i = 0; i < c.int('num_hidden_layers'); i++) {
      const l = `${prefix}encoder.layer.${i}.`;
      this.selfAttention(l, h, c.optional<boolean>('qkv_bias') ?? true);
      this.linear(`${l}intermediate.dense`, inter, h);
      this.linear(`${l}output.dense`, h, inter);
      this.layerNorm(`${l}layernorm_before`, h);
      this.layerNorm(`${l}layernorm_after`, h);
    }
  }

  /** `attention.attention.{query,key,value}` + `attention.output.dense`, as ViT-style layers name them. */
  selfAttention(prefix: string, hidden: number, qkvBias: boolean): void {
    for (const n of ['query', 'key', 'value']) this.linear(`${prefix}attention.attention.${n}`, hidden, hidden, qkvBias);
    this.linear(`${prefix}attention.output.dense`, hidden, hidden);
  }
}

/** `len(id2label)`, 2 when absent (transformers' PretrainedConfig default). */
export function numLabels(raw: RawConfig): number {
  const id2label = raw.id2label as Record<string, string> | undefined;
  return id2label && typeof id2label === 'object' ? Object.keys(id2label).length : 2;
}

/** FNV-1a of the name: each tensor's stream depends on its name only, not on the order of creation. */
function seedOf(name: string, seed: number): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** mulberry32 + Box-Muller: standard normals from a 32-bit seed. */
function normals(n: number, seed: number): Float32Array {
  let s = seed || 1;
  const uniform = () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - uniform()));
    const a = 2 * Math.PI * uniform();
    out[i] = r * Math.cos(a);
    if (i + 1 < n) out[i + 1] = r * Math.sin(a);
  }
  return out;
}

function materialize(name: string, { shape, init, value }: TensorSpec, seed: number): Tensor {
  if (init === 'buffer') {
    if (!value) throw new VitkitError('GRAPH_INVALID', `State dict entry "${name}" is a buffer without a value.`);
    return value;
  }
  const size = shape.reduce((a, b) => a * b, 1);
  const z = normals(size, seedOf(name, seed));
  const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
  const draw: Record<Exclude<WeightInit, 'buffer'>, (v: number) => number> = {
    normal: (v) => 0.02 * v,
    one: (v) => 1 + 0.02 * v,
    bias: (v) => 0.01 * v,
    var: (v) => 1 + 0.1 * Math.abs(v),
    fanin: (v) => v / Math.sqrt(fanIn),
  };
  const f = draw[init];
  for (let i = 0; i < size; i++) z[i] = f(z[i]);
  return new Tensor('float32', z, shape);
}

/** Deterministic stand-in weights for a declared state dict (same spec and seed, same tensors). */
export function synthesizeWeights(spec: StateDictSpec, seed = 0): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [name, s] of spec) out.set(name, materialize(name, s, seed));
  return out;
}
