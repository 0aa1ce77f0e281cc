import { compareArrays, errorOf, randomArray, testDevices } from '@vitkit/test-support';
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../graph/graph-builder.js';
import { add, matMul, mul, slice } from '../graph/ops.js';
import type { Value } from '../graph/value.js';
import { ModelSession } from '../runtime/model-session.js';
import { Tensor } from '../tensor/tensor.js';
import { type AttentionKernelName, attention, type RotateQueryKey } from './attention.js';

/** Plain TypeScript attention in float64: the oracle every kernel is held to. */
function plainAttention(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  dims: { b: number; s: number; l: number; c: number; h: number },
  bias?: { data: Float32Array; period: number; heads: number },
  keep?: Int32Array,
): Float32Array {
  const { b, s, l, c, h } = dims;
  const d = c / h;
  const scale = 1 / Math.sqrt(d);
  const out = new Float32Array(b * s * c);
  const scores = new Float64Array(l);
  for (let bi = 0; bi < b; bi++) {
    for (let hi = 0; hi < h; hi++) {
      for (let i = 0; i < s; i++) {
        let max = -Infinity;
        for (let j = 0; j < l; j++) {
          let dot = 0;
          for (let e = 0; e < d; e++) dot += q[(bi * s + i) * c + hi * d + e] * k[(bi * l + j) * c + hi * d + e];
          let sc = dot * scale;
          if (bias) {
            const p = bi % bias.period;
            const bh = bias.heads === 1 ? 0 : hi;
            sc += bias.data[((p * bias.heads + bh) * s + i) * l + j];
          }
          if (keep && keep[bi * l + j] === 0) sc = -Infinity;
          scores[j] = sc;
          if (sc > max) max = sc;
        }
        let sum = 0;
        for (let j = 0; j < l; j++) {
          scores[j] = Math.exp(scores[j] - max);
          sum += scores[j];
        }
        for (let e = 0; e < d; e++) {
          let acc = 0;
          for (let j = 0; j < l; j++) acc += (scores[j] / sum) * v[(bi * l + j) * c + hi * d + e];
          out[(bi * s + i) * c + hi * d + e] = acc;
        }
      }
    }
  }
  return out;
}

/** x [B, T, C] + a [C] bias, in float64. */
function plusBias(x: Float32Array, bias: Float32Array | undefined, c: number): Float64Array {
  return Float64Array.from(x, (value, i) => value + (bias ? bias[i % c] : 0));
}

/**
 * A rotary embedding as DINOv3-style models apply it: each channel pair (2j, 2j+1) of token t turns by
 * the angle (t + 1) · 0.7 · (j + 1) / (C / 2) (any known angles do: the point is that both sides agree).
 */
const angle = (t: number, j: number, c: number) => ((t + 1) * 0.7 * (j + 1)) / (c / 2);

function plainRotate(x: Float64Array, tokens: number, c: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let row = 0; row < x.length / c; row++) {
    const t = row % tokens;
    for (let j = 0; j < c / 2; j++) {
      const [a, b] = [x[row * c + 2 * j], x[row * c + 2 * j + 1]];
      const [cos, sin] = [Math.cos(angle(t, j, c)), Math.sin(angle(t, j, c))];
      out[row * c + 2 * j] = a * cos - b * sin;
      out[row * c + 2 * j + 1] = b * cos + a * sin;
    }
  }
  return out;
}

/** The same rotation as graph ops: x ⊙ cos + (x · P) ⊙ sin, P taking each pair (a, b) to (−b, a). */
function rotateInGraph(g: GraphBuilder, x: Value): Value {
  const [, tokens, c] = x.shape as number[];
  const cos = new Float32Array(tokens * c);
  const sin = new Float32Array(tokens * c);
  for (let t = 0; t < tokens; t++) {
    for (let ch = 0; ch < c; ch++) {
      cos[t * c + ch] = Math.cos(angle(t, ch >> 1, c));
      sin[t * c + ch] = Math.sin(angle(t, ch >> 1, c));
    }
  }
  const pairSwap = new Float32Array(c * c);
  for (let j = 0; j < c / 2; j++) {
    pairSwap[(2 * j + 1) * c + 2 * j] = -1;
    pairSwap[2 * j * c + 2 * j + 1] = 1;
  }
  const swapped = matMul(g, x, g.constant(new Tensor('float32', pairSwap, [c, c]), 'pair_swap'));
  const turned = (table: Float32Array, v: Value, hint: string) => mul(g, v, g.constant(new Tensor('float32', table, [tokens, c]), hint));
  return add(g, turned(cos, x, 'cos'), turned(sin, swapped, 'sin'));
}

const rotary: RotateQueryKey = (g, q, k) => ({ q: rotateInGraph(g, q), k: rotateInGraph(g, k) });

interface Case {
  name: string;
  b: number;
  s: number;
  l: number;
  c: number;
  h: number;
  bias?: { period: number; heads: number };
  mask?: boolean;
  /** Projection biases handed to attention(): all three, or q and v only (BEiT-style, no key bias). */
  qkvBias?: 'qkv' | 'qv';
  rotate?: boolean;
}

const CASES: Case[] = [
  { name: 'self-attention', b: 2, s: 7, l: 7, c: 16, h: 4 },
  { name: 'cross-attention with bias', b: 2, s: 5, l: 9, c: 24, h: 3, bias: { period: 1, heads: 3 } },
  { name: 'windowed bias repeating along the batch', b: 4, s: 6, l: 6, c: 16, h: 2, bias: { period: 2, heads: 2 } },
  { name: 'key padding mask', b: 3, s: 8, l: 8, c: 16, h: 4, mask: true },
  { name: 'bias and key padding mask', b: 2, s: 4, l: 10, c: 8, h: 2, bias: { period: 1, heads: 1 }, mask: true },
  { name: 'q/k/v projection biases', b: 2, s: 7, l: 7, c: 16, h: 4, qkvBias: 'qkv' },
  {
    name: 'q and v biases, no k bias, cross-attention with bias and key padding mask',
    ...{ b: 2, s: 5, l: 9, c: 24, h: 3, bias: { period: 1, heads: 3 }, mask: true, qkvBias: 'qv' as const },
  },
  { name: 'q/k/v biases with windowed bias', b: 4, s: 6, l: 6, c: 16, h: 2, bias: { period: 2, heads: 2 }, qkvBias: 'qkv' },
  { name: 'rotary hook on biased q and k', b: 2, s: 7, l: 7, c: 16, h: 4, qkvBias: 'qkv', rotate: true },
  { name: 'rotary hook without biases, with bias', b: 2, s: 6, l: 6, c: 16, h: 2, bias: { period: 1, heads: 2 }, rotate: true },
  {
    name: 'rotary hook, cross-attention, q and v biases, key padding mask',
    ...{ b: 2, s: 5, l: 9, c: 24, h: 3, mask: true, qkvBias: 'qv' as const, rotate: true },
  },
];

const KERNELS: AttentionKernelName[] = ['reference', 'fused'];

describe.each(testDevices())('attention kernels on %s', (device) => {
  describe.each(KERNELS)('%s kernel', (kernel) => {
    it.each(CASES)('$name matches plain attention within 1e-5', async (tc) => {
      const { b, s, l, c, h } = tc;
      const qd = randomArray(b * s * c, 1);
      const kd = randomArray(b * l * c, 2);
      const vd = randomArray(b * l * c, 3);
      const biasData = tc.bias ? randomArray(tc.bias.period * tc.bias.heads * s * l, 4) : undefined;
      const keep = tc.mask ? Int32Array.from({ length: b * l }, (_, i) => (i % l < l - 1 - (Math.floor(i / l) % 3) ? 1 : 0)) : undefined;
      const projectionBias = {
        q: tc.qkvBias ? randomArray(c, 5) : undefined,
        k: tc.qkvBias === 'qkv' ? randomArray(c, 6) : undefined,
        v: tc.qkvBias ? randomArray(c, 7) : undefined,
      };
      const asTensor = (x: Float32Array | undefined) => (x ? new Tensor('float32', x, [c]) : undefined);

      const g = new GraphBuilder({ attentionKernel: kernel });
      const q = g.input('q', 'float32', ['batch', s, c]);
      const k = g.input('k', 'float32', ['batch', l, c]);
      const v = g.input('v', 'float32', ['batch', l, c]);
      let bias: Value | undefined;
      if (tc.bias && biasData) bias = g.constant(new Tensor('float32', biasData, [tc.bias.period, tc.bias.heads, s, l]), 'bias');
      const mask = keep ? g.input('mask', 'int64', ['batch', l]) : undefined;
      const { output } = attention(g, {
        q,
        k,
        v,
        numHeads: h,
        bias,
        keyPaddingMask: mask,
        qkvBias: tc.qkvBias ? { q: asTensor(projectionBias.q), k: asTensor(projectionBias.k), v: asTensor(projectionBias.v) } : undefined,
        rotate: tc.rotate ? rotary : undefined,
      });
      g.output(output, 'out');

      const session = await ModelSession.create(g.toModelProto(), { device });
      const feeds: Record<string, Tensor> = {
        q: new Tensor('float32', qd, [b, s, c]),
        k: new Tensor('float32', kd, [b, l, c]),
        v: new Tensor('float32', vd, [b, l, c]),
      };
      if (keep)
        feeds.mask = new Tensor(
          'int64',
          BigInt64Array.from(keep, (x) => BigInt(x)),
          [b, l],
        );
      const { out } = await session.run(feeds);
      await session.dispose();

      let [qe, ke] = [plusBias(qd, projectionBias.q, c), plusBias(kd, projectionBias.k, c)];
      if (tc.rotate) [qe, ke] = [plainRotate(qe, s, c), plainRotate(ke, l, c)];
      const expected = plainAttention(
        qe,
        ke,
        plusBias(vd, projectionBias.v, c),
        { b, s, l, c, h },
        tc.bias && biasData ? { ...tc.bias, data: biasData } : undefined,
        keep,
      );
      expect(out.shape).toEqual([b, s, c]);
      const cmp = compareArrays(out.data as Float32Array, expected, 1e-5);
      expect(cmp.maxAbs).toBeLessThanOrEqual(1e-5);
    });
  });
});

describe('where the projection biases are added', () => {
  const build = (kernel: AttentionKernelName, rotate?: RotateQueryKey) => {
    const g = new GraphBuilder({ attentionKernel: kernel });
    const x = g.input('x', 'float32', ['batch', 5, 8]);
    const bias = (seed: number) => new Tensor('float32', randomArray(8, seed), [8]);
    attention(g, { q: x, k: x, v: x, numHeads: 2, qkvBias: { q: bias(1), k: bias(2), v: bias(3) }, rotate });
    return g;
  };
  const mha = (g: GraphBuilder) => g.nodeRecords().filter((n) => n.opType === 'MultiHeadAttention');
  const adds = (g: GraphBuilder) => g.nodeRecords().filter((n) => n.opType === 'Add').length;

  it('fused without a hook: inside MultiHeadAttention, as one packed [3C] bias input, no Add nodes', () => {
    const g = build('fused');
    expect(mha(g)).toHaveLength(1);
    expect(mha(g)[0].inputs[3]?.shape).toEqual([24]);
    expect(adds(g)).toBe(0);
  });

  it('fused with a rotary hook: added before the hook (three Adds), MultiHeadAttention gets none', () => {
    let seen: string[] = [];
    const g = build('fused', (_g, q, k) => {
      seen = [q.name, k.name];
      return { q, k };
    });
    const addOutputs = g
      .nodeRecords()
      .filter((n) => n.opType === 'Add')
      .map((n) => n.outputs[0].name);
    expect(addOutputs).toHaveLength(3);
    expect(addOutputs).toEqual(expect.arrayContaining(seen));
    expect(mha(g)).toHaveLength(1);
    expect(mha(g)[0].inputs[3]).toBeUndefined();
  });

  it('reference: three Adds, no MultiHeadAttention', () => {
    const g = build('reference');
    expect(mha(g)).toHaveLength(0);
    expect(adds(g)).toBe(3);
  });
});

describe('attention argument checks', () => {
  const g = new GraphBuilder();
  const x = g.input('x', 'float32', ['batch', 5, 8]);
  it('refuses a projection bias of the wrong length', () => {
    const qkvBias = { k: new Tensor('float32', new Float32Array(6), [6]) };
    const e = errorOf(() => attention(g, { q: x, k: x, v: x, numHeads: 2, qkvBias }));
    expect(e).toMatchObject({ code: 'GRAPH_SHAPE_MISMATCH', message: expect.stringMatching(/qkvBias\.k must be \[8\], got \[6\]/) });
  });
  it('refuses a rotation that changes the shape of q or k', () => {
    const rotate: RotateQueryKey = (g, q, k) => ({ q, k: slice(g, k, [0], [4], [1]) });
    const e = errorOf(() => attention(g, { q: x, k: x, v: x, numHeads: 2, rotate }));
    expect(e).toMatchObject({ code: 'GRAPH_SHAPE_MISMATCH', message: expect.stringMatching(/rotate changed k/) });
  });
});

describe('attention probabilities', () => {
  it('wantProbs returns [B, H, S, L] rows that sum to 1, even when the graph default is fused', async () => {
    const g = new GraphBuilder({ attentionKernel: 'fused' });
    const x = g.input('x', 'float32', ['batch', 5, 8]);
    const { output, probs } = attention(g, { q: x, k: x, v: x, numHeads: 2, wantProbs: true });
    g.output(output, 'out');
    g.output(probs!, 'probs');
    expect(g.opCounts().has('MultiHeadAttention')).toBe(false);
    const session = await ModelSession.create(g.toModelProto(), { device: 'cpu' });
    const res = await session.run({ x: new Tensor('float32', randomArray(40, 9), [1, 5, 8]) });
    expect(res.probs.shape).toEqual([1, 2, 5, 5]);
    const p = res.probs.data as Float32Array;
    for (let row = 0; row < 10; row++) {
      let sum = 0;
      for (let j = 0; j < 5; j++) sum += p[row * 5 + j];
      expect(Math.abs(sum - 1)).toBeLessThan(1e-6);
    }
  });
});
