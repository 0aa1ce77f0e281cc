import { codeOf, compareArrays, randomArray, seededRandom, testDevices } from '@vitkit/test-support';
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../graph/graph-builder.js';
import { serializeGraph } from '../graph/serialize-graph.js';
import { defaultDeformableSamplingKernel } from '../runtime/device.js';
import { ModelSession } from '../runtime/model-session.js';
import type { DType } from '../tensor/dtype.js';
import { cosineSimilarity } from '../tensor/similarity.js';
import { Tensor } from '../tensor/tensor.js';
import { WeightStore } from '../weights/weight-store.js';
import {
  type DeformableSamplingKernelName,
  type MultiScaleDeformableAttentionArgs,
  multiScaleDeformableAttention,
} from './deformable-attention.js';

type Levels = ReadonlyArray<readonly [number, number]>;

interface Dims {
  b: number;
  q: number;
  c: number;
  heads: number;
  points: number;
  levels: Levels;
  refDim: 2 | 4;
}

interface Weights {
  offW: Float32Array;
  offB: Float32Array;
  attW: Float32Array;
  attB: Float32Array;
  valW: Float32Array;
  valB: Float32Array;
  outW: Float32Array;
  outB: Float32Array;
}

/** x [rows, in] · W [out, in]ᵀ + b, in float64. */
function plainLinear(x: ArrayLike<number>, rows: number, inF: number, w: Float32Array, bias: Float32Array): Float64Array {
  const outF = bias.length;
  const y = new Float64Array(rows * outF);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outF; o++) {
      let acc = bias[o];
      for (let i = 0; i < inF; i++) acc += x[r * inF + i] * w[o * inF + i];
      y[r * outF + o] = acc;
    }
  }
  return y;
}

/**
 * Multi-scale deformable attention in plain loops, float64: the oracle. Bilinear sampling at pixel
 * (loc·size − 0.5), corners off the map read as zero. Also counts sampling points off [0, 1]².
 */
function plainDeformableAttention(
  dims: Dims,
  wt: Weights,
  query: Float32Array,
  value: Float32Array,
  ref: Float32Array,
  keep?: Uint8Array,
): { out: Float32Array; outside: number; total: number } {
  const { b, q, c, heads, points, levels, refDim } = dims;
  const L = levels.length;
  const d = c / heads;
  const s = levels.reduce((n, [h, w]) => n + h * w, 0);
  const starts = levels.map((_, l) => levels.slice(0, l).reduce((n, [h, w]) => n + h * w, 0));
  const v = plainLinear(value, b * s, c, wt.valW, wt.valB);
  if (keep) for (let t = 0; t < b * s; t++) if (!keep[t]) v.fill(0, t * c, (t + 1) * c);
  const off = plainLinear(query, b * q, c, wt.offW, wt.offB); // [B, Q, H, L, P, 2]
  const logits = plainLinear(query, b * q, c, wt.attW, wt.attB); // [B, Q, H, L·P]
  const acc = new Float64Array(b * q * c);
  let outside = 0;
  for (let bi = 0; bi < b; bi++) {
    for (let qi = 0; qi < q; qi++) {
      for (let h = 0; h < heads; h++) {
        const row = ((bi * q + qi) * heads + h) * L * points;
        let mx = -Infinity;
        for (let k = 0; k < L * points; k++) mx = Math.max(mx, logits[row + k]);
        let den = 0;
        for (let k = 0; k < L * points; k++) den += Math.exp(logits[row + k] - mx);
        for (let l = 0; l < L; l++) {
          const [mh, mw] = levels[l];
          const r = ((bi * q + qi) * L + l) * refDim;
          for (let p = 0; p < points; p++) {
            const k = l * points + p;
            const a = Math.exp(logits[row + k] - mx) / den;
            const ox = off[(row + k) * 2];
            const oy = off[(row + k) * 2 + 1];
            const lx = refDim === 2 ? ref[r] + ox / mw : ref[r] + (ox / points) * ref[r + 2] * 0.5;
            const ly = refDim === 2 ? ref[r + 1] + oy / mh : ref[r + 1] + (oy / points) * ref[r + 3] * 0.5;
            if (lx < 0 || lx > 1 || ly < 0 || ly > 1) outside++;
            const x = lx * mw - 0.5;
            const y = ly * mh - 0.5;
            const x0 = Math.floor(x);
            const y0 = Math.floor(y);
            for (const [cx, cy, wgt] of [
              [x0, y0, (x0 + 1 - x) * (y0 + 1 - y)],
              [x0 + 1, y0, (x - x0) * (y0 + 1 - y)],
              [x0, y0 + 1, (x0 + 1 - x) * (y - y0)],
              [x0 + 1, y0 + 1, (x - x0) * (y - y0)],
            ]) {
              if (cx < 0 || cx >= mw || cy < 0 || cy >= mh) continue;
              const token = bi * s + starts[l] + cy * mw + cx;
              for (let e = 0; e < d; e++) acc[(bi * q + qi) * c + h * d + e] += a * wgt * v[token * c + h * d + e];
            }
          }
        }
      }
    }
  }
  const out = Float32Array.from(plainLinear(acc, b * q, c, wt.outW, wt.outB));
  return { out, outside, total: b * q * heads * L * points };
}

function randomWeights(dims: Dims, seed: number): Weights {
  const { c, heads, points, levels } = dims;
  const n = heads * levels.length * points;
  const scale = 1 / Math.sqrt(c);
  return {
    // Offsets of a few pixels: enough that many points leave their map.
    offW: randomArray(n * 2 * c, seed, scale),
    offB: randomArray(n * 2, seed + 1, 1),
    attW: randomArray(n * c, seed + 2, scale),
    attB: randomArray(n, seed + 3, 0.5),
    valW: randomArray(c * c, seed + 4, scale),
    valB: randomArray(c, seed + 5, 0.2),
    outW: randomArray(c * c, seed + 6, scale),
    outB: randomArray(c, seed + 7, 0.2),
  };
}

function weightStore(dims: Dims, wt: Weights, prefix = 'encoder.layers.0.self_attn'): WeightStore {
  const { c, heads, points, levels } = dims;
  const n = heads * levels.length * points;
  const t = (data: Float32Array, shape: number[]) => new Tensor('float32', data, shape);
  return new WeightStore(
    new Map([
      [`${prefix}.sampling_offsets.weight`, t(wt.offW, [n * 2, c])],
      [`${prefix}.sampling_offsets.bias`, t(wt.offB, [n * 2])],
      [`${prefix}.attention_weights.weight`, t(wt.attW, [n, c])],
      [`${prefix}.attention_weights.bias`, t(wt.attB, [n])],
      [`${prefix}.value_proj.weight`, t(wt.valW, [c, c])],
      [`${prefix}.value_proj.bias`, t(wt.valB, [c])],
      [`${prefix}.output_proj.weight`, t(wt.outW, [c, c])],
      [`${prefix}.output_proj.bias`, t(wt.outB, [c])],
    ]),
    'random',
  ).scoped(`${prefix}.`);
}

/** Reference points: centers around the middle, some off [0, 1]; boxes also get a positive size. */
function referencePoints(dims: Dims, seed: number): Float32Array {
  const r = seededRandom(seed);
  const n = dims.b * dims.q * dims.levels.length;
  const out = new Float32Array(n * dims.refDim);
  for (let i = 0; i < n; i++) {
    out[i * dims.refDim] = 0.5 + 0.35 * r();
    out[i * dims.refDim + 1] = 0.5 + 0.35 * r();
    if (dims.refDim === 4) {
      out[i * 4 + 2] = 0.1 + 0.4 * Math.abs(r());
      out[i * 4 + 3] = 0.1 + 0.4 * Math.abs(r());
    }
  }
  return out;
}

/** Padding as a padded image's: each batch item b > 0 loses its last rows and columns on every level. */
function keepMask(dims: Dims): Uint8Array {
  const s = dims.levels.reduce((n, [h, w]) => n + h * w, 0);
  const keep = new Uint8Array(dims.b * s);
  for (let bi = 0; bi < dims.b; bi++) {
    let t = bi * s;
    for (const [h, w] of dims.levels) {
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) keep[t++] = y < h - bi && x < w - bi ? 1 : 0;
    }
  }
  return keep;
}

function maskTensor(keep: Uint8Array, dtype: DType, shape: number[]): Tensor {
  if (dtype === 'bool') return new Tensor('bool', keep, shape);
  if (dtype === 'int64')
    return new Tensor(
      'int64',
      BigInt64Array.from(keep, (x) => BigInt(x)),
      shape,
    );
  return new Tensor('float32', Float32Array.from(keep), shape);
}

interface Case {
  name: string;
  dims: Dims;
  mask?: DType;
}

const LEVELS: Levels = [
  [5, 7],
  [3, 4],
  [2, 1],
  [1, 3],
];

const CASES: Case[] = [
  { name: 'points [B, Q, L, 2], 4 levels, 4 heads, 3 points', dims: { b: 2, q: 6, c: 16, heads: 4, points: 3, levels: LEVELS, refDim: 2 } },
  { name: 'boxes [B, Q, L, 4], 2 heads, 4 points', dims: { b: 2, q: 5, c: 16, heads: 2, points: 4, levels: LEVELS, refDim: 4 } },
  {
    name: 'points, bool value mask with padding, 3 levels',
    dims: { b: 3, q: 4, c: 24, heads: 3, points: 2, levels: LEVELS.slice(0, 3), refDim: 2 },
    mask: 'bool',
  },
  { name: 'boxes, int64 value mask, 8 heads', dims: { b: 2, q: 3, c: 32, heads: 8, points: 2, levels: LEVELS, refDim: 4 }, mask: 'int64' },
  { name: 'one level, float32 value mask', dims: { b: 2, q: 4, c: 8, heads: 2, points: 5, levels: [[4, 6]], refDim: 2 }, mask: 'float32' },
];

const KERNELS: DeformableSamplingKernelName[] = ['grid-sample', 'gather'];

describe.each(testDevices())('multi-scale deformable attention on %s', (device) => {
  describe.each(KERNELS)('%s kernel', (kernel) => {
    it.each(CASES)('$name matches plain loops within 1e-5', async ({ dims, mask }) => {
      const { b, q, c, levels, refDim } = dims;
      const s = levels.reduce((n, [h, w]) => n + h * w, 0);
      const wt = randomWeights(dims, 11);
      const queryData = randomArray(b * q * c, 1);
      const valueData = randomArray(b * s * c, 2);
      const refData = referencePoints(dims, 3);
      const keep = mask ? keepMask(dims) : undefined;

      const g = new GraphBuilder({ deformableSamplingKernel: kernel });
      const args: MultiScaleDeformableAttentionArgs = {
        query: g.input('query', 'float32', ['batch', q, c]),
        value: g.input('value', 'float32', ['batch', s, c]),
        valueMask: mask ? g.input('mask', mask, ['batch', s]) : undefined,
        referencePoints: g.input('ref', 'float32', ['batch', q, levels.length, refDim]),
        levelShapes: levels,
        numHeads: dims.heads,
        numPoints: dims.points,
      };
      const out = multiScaleDeformableAttention(g, weightStore(dims, wt), args);
      expect(out.shape).toEqual(['batch', q, c]);
      expect(g.opCounts().get('GridSample') ?? 0).toBe(kernel === 'grid-sample' ? levels.length : 0);
      g.output(out, 'out');

      const session = await ModelSession.create(g.toModelProto(), { device });
      const feeds: Record<string, Tensor> = {
        query: new Tensor('float32', queryData, [b, q, c]),
        value: new Tensor('float32', valueData, [b, s, c]),
        ref: new Tensor('float32', refData, [b, q, levels.length, refDim]),
      };
      if (mask && keep) feeds.mask = maskTensor(keep, mask, [b, s]);
      const result = await session.run(feeds);
      await session.dispose();

      const expected = plainDeformableAttention(dims, wt, queryData, valueData, refData, keep);
      // The case means something only if points land both on and off the maps.
      expect(expected.outside).toBeGreaterThan(expected.total * 0.1);
      expect(expected.outside).toBeLessThan(expected.total * 0.9);
      if (keep) expect(keep.includes(0)).toBe(true);
      expect(result.out.shape).toEqual([b, q, c]);
      const cmp = compareArrays(result.out.data as Float32Array, expected.out, 1e-5);
      expect(cmp.maxAbs).toBeLessThanOrEqual(1e-5);
    });
  });
});

describe('the gather kernel in fp16', () => {
  // fp16 holds integers exactly only up to 2048: token indices past that must not pass through it.
  // Run on cpu as the fp16 precision tests do (SwiftShader's WebGPU has no shader-f16).
  it('samples the right tokens of a 3000-token value: cosine ≥ 0.999 against plain loops', async () => {
    const dims: Dims = {
      b: 1,
      q: 64,
      c: 16,
      heads: 2,
      points: 2,
      levels: [
        [48, 50],
        [24, 25],
      ],
      refDim: 2,
    };
    const s = 48 * 50 + 24 * 25;
    const wt = randomWeights(dims, 21);
    const queryData = randomArray(dims.q * dims.c, 1);
    const valueData = randomArray(s * dims.c, 2);
    const refData = referencePoints(dims, 3);
    const g = new GraphBuilder({ deformableSamplingKernel: 'gather' });
    const out = multiScaleDeformableAttention(g, weightStore(dims, wt), {
      query: g.input('query', 'float32', [1, dims.q, dims.c]),
      value: g.input('value', 'float32', [1, s, dims.c]),
      referencePoints: g.input('ref', 'float32', [1, dims.q, 2, 2]),
      levelShapes: dims.levels,
      numHeads: dims.heads,
      numPoints: dims.points,
    });
    g.output(out, 'out');
    const session = await ModelSession.create(serializeGraph(g, { weightPrecision: 'fp16' }), { device: 'cpu' });
    const result = await session.run({
      query: new Tensor('float32', queryData, [1, dims.q, dims.c]),
      value: new Tensor('float32', valueData, [1, s, dims.c]),
      ref: new Tensor('float32', refData, [1, dims.q, 2, 2]),
    });
    await session.dispose();
    const expected = plainDeformableAttention(dims, wt, queryData, valueData, refData);
    expect(cosineSimilarity(result.out.data as Float32Array, expected.out)).toBeGreaterThanOrEqual(0.999);
  });
});

describe('multi-scale deformable attention build-time checks', () => {
  const dims: Dims = { b: 1, q: 4, c: 16, heads: 4, points: 2, levels: [[2, 3]], refDim: 2 };
  const build = (
    over: Partial<{ s: number; c: number; heads: number; refShape: number[]; maskShape: number[]; opset: number; points: number }>,
  ) => {
    const c = over.c ?? 16;
    const g = new GraphBuilder({ opset: over.opset });
    const made = { ...dims, c, heads: over.heads ?? 4 };
    return multiScaleDeformableAttention(g, weightStore(made, randomWeights(made, 1)), {
      query: g.input('query', 'float32', [1, 4, c]),
      value: g.input('value', 'float32', [1, over.s ?? 6, c]),
      valueMask: over.maskShape ? g.input('mask', 'bool', over.maskShape) : undefined,
      referencePoints: g.input('ref', 'float32', over.refShape ?? [1, 4, 1, 2]),
      levelShapes: dims.levels,
      numHeads: over.heads ?? 4,
      numPoints: over.points ?? 2,
    });
  };

  it('builds with matching shapes, from the device-chosen kernel', () => {
    expect(build({}).shape).toEqual([1, 4, 16]);
  });
  it.each([
    ['value tokens != the sum of level sizes', { s: 7 }, /value has 7 tokens but the levels hold 6/],
    ['channels that do not split into the heads', { c: 18, heads: 4 }, /18 channels do not split into 4 heads/],
    ['reference points with last dim 3', { refShape: [1, 4, 1, 3] }, /referencePoints must be/],
    ['reference points for the wrong number of levels', { refShape: [1, 4, 2, 2] }, /referencePoints must be \[batch, 4, 1, 2 or 4\]/],
    ['a value mask of the wrong length', { maskShape: [1, 5] }, /valueMask must be \[batch, 6\]/],
  ])('refuses %s with GRAPH_SHAPE_MISMATCH', (_name, over, message) => {
    expect(codeOf(() => build(over))).toBe('GRAPH_SHAPE_MISMATCH');
    expect(() => build(over)).toThrowError(message);
  });
  it('refuses weights made for another number of points, naming the tensor', () => {
    expect(() => build({ points: 3 })).toThrowError(/encoder\.layers\.0\.self_attn\.sampling_offsets\.weight" has shape \[16, 16\]/);
    expect(codeOf(() => build({ points: 3 }))).toBe('WEIGHTS_SHAPE_MISMATCH');
  });
  it('refuses GridSample below opset 16', () => {
    expect(codeOf(() => build({ opset: 15 }))).toBe('GRAPH_INVALID');
  });
});

describe('deformable sampling kernel per device', () => {
  it('webgpu gets the gather kernel (its GridSample stops at opset 19); the others GridSample', () => {
    expect(defaultDeformableSamplingKernel('webgpu')).toBe('gather');
    for (const d of ['cpu', 'wasm', 'cuda'] as const) expect(defaultDeformableSamplingKernel(d)).toBe('grid-sample');
  });
});
