import { compareArrays, randomArray, testDevices } from '@vitkit/test-support';
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../graph/graph-builder.js';
import type { Value } from '../graph/value.js';
import { ModelSession } from '../runtime/model-session.js';
import { Tensor } from '../tensor/tensor.js';
import { type AttentionKernelName, attention } from './attention.js';

/** Plain TypeScript attention in float64: the oracle every kernel is held to. */
function plainAttention(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
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

interface Case {
  name: string;
  b: number;
  s: number;
  l: number;
  c: number;
  h: number;
  bias?: { period: number; heads: number };
  mask?: boolean;
}

const CASES: Case[] = [
  { name: 'self-attention', b: 2, s: 7, l: 7, c: 16, h: 4 },
  { name: 'cross-attention with bias', b: 2, s: 5, l: 9, c: 24, h: 3, bias: { period: 1, heads: 3 } },
  { name: 'windowed bias repeating along the batch', b: 4, s: 6, l: 6, c: 16, h: 2, bias: { period: 2, heads: 2 } },
  { name: 'key padding mask', b: 3, s: 8, l: 8, c: 16, h: 4, mask: true },
  { name: 'bias and key padding mask', b: 2, s: 4, l: 10, c: 8, h: 2, bias: { period: 1, heads: 1 }, mask: true },
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

      const g = new GraphBuilder({ attentionKernel: kernel });
      const q = g.input('q', 'float32', ['batch', s, c]);
      const k = g.input('k', 'float32', ['batch', l, c]);
      const v = g.input('v', 'float32', ['batch', l, c]);
      let bias: Value | undefined;
      if (tc.bias && biasData) bias = g.constant(new Tensor('float32', biasData, [tc.bias.period, tc.bias.heads, s, l]), 'bias');
      const mask = keep ? g.input('mask', 'int64', ['batch', l]) : undefined;
      const { output } = attention(g, { q, k, v, numHeads: h, bias, keyPaddingMask: mask });
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

      const expected = plainAttention(
        qd,
        kd,
        vd,
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
