import { GraphBuilder, ModelSession, Tensor } from '@vitkit/core/internal';
import { compareArrays, randomArray, readFixtureTensors, testDevices } from '@vitkit/test-support';
import { describe, expect, it } from 'vitest';
import { type SwinBlockWeights, windowAttention } from './model.js';
import { mergeGatherIndex, relativePositionIndex, windowGatherIndex, windowLayout, windowScatterIndex } from './windows.js';

// The windowed attention the graph builds (gathers, core attention() on windows as the batch, a
// build-time bias) held against Swin attention computed directly on the grid in plain TypeScript:
// every query looks at every token of the zero-padded grid and keeps only those in its shifted
// window that were also its neighbours before the cyclic shift.

interface Dims {
  batch: number;
  height: number;
  width: number;
  channels: number;
  heads: number;
  window: number;
  shifted: boolean;
}

function randomWeights(d: Dims, seed: number) {
  const { channels: C, heads, window: ws } = d;
  const lin = (s: number) => ({
    weight: Tensor.fromFloat32(randomArray(C * C, s, 0.3), [C, C]),
    bias: Tensor.fromFloat32(randomArray(C, s + 1, 0.2), [C]),
  });
  return {
    query: lin(seed),
    key: lin(seed + 2),
    value: lin(seed + 4),
    attnOut: lin(seed + 6),
    relativePositionBiasTable: Tensor.fromFloat32(randomArray((2 * ws - 1) ** 2 * heads, seed + 8, 1), [(2 * ws - 1) ** 2, heads]),
  } satisfies Pick<SwinBlockWeights, 'query' | 'key' | 'value' | 'relativePositionBiasTable' | 'attnOut'>;
}

type Weights = ReturnType<typeof randomWeights>;

/** y = x W^T + b for one token (PyTorch [out, in] weights), float64. */
function project(x: ArrayLike<number>, w: { weight: Tensor; bias: Tensor }): Float64Array {
  const W = w.weight.data as Float32Array;
  const b = w.bias.data as Float32Array;
  const n = b.length;
  const out = new Float64Array(n);
  for (let o = 0; o < n; o++) {
    let acc = b[o];
    for (let i = 0; i < x.length; i++) acc += W[o * x.length + i] * x[i];
    out[o] = acc;
  }
  return out;
}

function directSwinAttention(x: Float32Array, d: Dims, w: Weights): Float32Array {
  const { batch, height: H, width: W, channels: C, heads, window: ws } = d;
  const shift = d.shifted ? Math.floor(ws / 2) : 0;
  const Hp = Math.ceil(H / ws) * ws;
  const Wp = Math.ceil(W / ws) * ws;
  const hd = C / heads;
  const table = w.relativePositionBiasTable.data as Float32Array;
  const out = new Float32Array(batch * H * W * C);
  // After the cyclic shift, a token's window is that of its shifted coordinates.
  const windowOf = (i: number, j: number) => Math.floor(((i - shift + Hp) % Hp) / ws) * Wp + Math.floor(((j - shift + Wp) % Wp) / ws);
  // Tokens in the first `shift` rows/columns wrap around to the far edge: not neighbours of the rest.
  const wrapped = (i: number, j: number) => (i < shift ? 2 : 0) + (j < shift ? 1 : 0);
  for (let b = 0; b < batch; b++) {
    const token = (i: number, j: number) =>
      i < H && j < W ? x.subarray(((b * H + i) * W + j) * C, ((b * H + i) * W + j + 1) * C) : new Float32Array(C);
    const q: Float64Array[] = [];
    const k: Float64Array[] = [];
    const v: Float64Array[] = [];
    for (let i = 0; i < Hp; i++) {
      for (let j = 0; j < Wp; j++) {
        const t = token(i, j);
        q.push(project(t, w.query));
        k.push(project(t, w.key));
        v.push(project(t, w.value));
      }
    }
    for (let i = 0; i < H; i++) {
      for (let j = 0; j < W; j++) {
        const p = i * Wp + j;
        const context = new Float64Array(C);
        for (let h = 0; h < heads; h++) {
          const keys: { idx: number; score: number }[] = [];
          for (let ki = 0; ki < Hp; ki++) {
            for (let kj = 0; kj < Wp; kj++) {
              if (windowOf(ki, kj) !== windowOf(i, j) || wrapped(ki, kj) !== wrapped(i, j)) continue;
              const kIdx = ki * Wp + kj;
              let dot = 0;
              for (let e = 0; e < hd; e++) dot += q[p][h * hd + e] * k[kIdx][h * hd + e];
              const rel = (i - ki + ws - 1) * (2 * ws - 1) + (j - kj + ws - 1);
              keys.push({ idx: kIdx, score: dot / Math.sqrt(hd) + table[rel * heads + h] });
            }
          }
          const max = Math.max(...keys.map((s) => s.score));
          const total = keys.reduce((acc, s) => acc + Math.exp(s.score - max), 0);
          for (const s of keys) {
            const pr = Math.exp(s.score - max) / total;
            for (let e = 0; e < hd; e++) context[h * hd + e] += pr * v[s.idx][h * hd + e];
          }
        }
        out.set(project(context, w.attnOut), ((b * H + i) * W + j) * C);
      }
    }
  }
  return out;
}

const CASES: { name: string; dims: Dims }[] = [
  {
    name: 'shifted, padded 7x5 grid, window 4, batch 2',
    dims: { batch: 2, height: 7, width: 5, channels: 8, heads: 2, window: 4, shifted: true },
  },
  {
    name: 'shifted, 6x9 grid, window 3, batch 1',
    dims: { batch: 1, height: 6, width: 9, channels: 12, heads: 3, window: 3, shifted: true },
  },
  {
    name: 'unshifted, padded 5x7 grid, window 4, batch 2',
    dims: { batch: 2, height: 5, width: 7, channels: 8, heads: 2, window: 4, shifted: false },
  },
];

describe.each(testDevices())('Swin window attention vs direct computation on %s', (device) => {
  it.each(CASES.flatMap((c) => (['reference', 'fused'] as const).map((kernel) => [`${c.name}, ${kernel}`, c.dims, kernel] as const)))(
    '%s',
    async (_name, dims, kernel) => {
      const { batch, height, width, channels } = dims;
      const weights = randomWeights(dims, 11);
      const x = randomArray(batch * height * width * channels, 5);
      const g = new GraphBuilder({ attentionKernel: kernel });
      const input = g.input('x', 'float32', ['batch', height * width, channels]);
      const { output, layout } = windowAttention(g, { x: input, height, width }, weights, {
        heads: dims.heads,
        window: dims.window,
        shifted: dims.shifted,
      });
      expect(layout.shift).toBe(dims.shifted ? Math.floor(dims.window / 2) : 0);
      g.output(output, 'y');
      const session = await ModelSession.create(g.toModelProto(), { device });
      const { y } = await session.run({ x: Tensor.fromFloat32(x, [batch, height * width, channels]) });
      await session.dispose();
      const expected = directSwinAttention(x, dims, weights);
      const cmp = compareArrays(y.data as Float32Array, expected, 1e-5, 0);
      expect(cmp.ok, `max |diff| ${cmp.maxAbs.toExponential(2)}`).toBe(true);
    },
  );
});

describe('window bookkeeping', () => {
  it('relative position index matches transformers for a 2x2 window', () => {
    // transformers' relative_position_index buffer for window_size=2.
    expect(Array.from(relativePositionIndex(2))).toEqual([4, 3, 1, 0, 5, 4, 2, 1, 7, 6, 4, 3, 8, 7, 5, 4]);
  });

  it('relative position index equals the buffer transformers saved (window 4)', () => {
    const saved = readFixtureTensors('swin/padding-shifted/model.safetensors').get(
      'encoder.layers.0.blocks.0.attention.self.relative_position_index',
    ) as Tensor;
    expect(saved.shape).toEqual([16, 16]);
    expect(Array.from(relativePositionIndex(4))).toEqual(Array.from(saved.data as BigInt64Array, Number));
  });

  it('scatter undoes gather for every real token', () => {
    const l = windowLayout(7, 5, 4, true);
    const gather = windowGatherIndex(l);
    const scatter = windowScatterIndex(l);
    for (let t = 0; t < 35; t++) expect(gather[scatter[t]]).toBe(t);
    expect(gather.filter((s) => s === 35)).toHaveLength(l.padHeight * l.padWidth - 35);
  });

  it("drops the shift when the window covers the grid's smaller side, and refuses grids smaller than the window", () => {
    expect(windowLayout(7, 9, 7, true)).toMatchObject({ window: 7, shift: 0, padHeight: 7, padWidth: 14, count: 2 });
    expect(() => windowLayout(6, 6, 7, false)).toThrow(expect.objectContaining({ code: 'INPUT_SHAPE_INVALID' }));
  });

  it('patch merging takes x0, x1, x2, x3 = (0,0), (1,0), (0,1), (1,1) and pads odd sides with the zero token', () => {
    // 3x3 grid → 2x2 merged; token 9 is the appended zero.
    expect(mergeGatherIndex(3, 3)).toEqual([0, 3, 1, 4, 2, 5, 9, 9, 6, 9, 7, 9, 8, 9, 9, 9]);
  });
});
