import { GraphBuilder, ModelSession, Tensor } from '@vitkit/core/internal';
import { compareArrays, randomArray, testDevices } from '@vitkit/test-support';
import { describe, expect, it } from 'vitest';
import { continuousPositionBias, logSpacedRelativeCoords } from './continuous-position-bias.js';
import { cosineWindowAttention, type Swinv2BlockWeights } from './model-v2.js';

// Swin V2's window attention as the graph builds it (gathers, q/k normalised in attention()'s hook,
// the position-bias MLP evaluated at build time) held against the formula computed directly on the
// grid in float64: for each query, every token of the zero-padded grid in its shifted window,
// score = τ_h · cos(q_h, k_h) + 16·sigmoid(MLP(log-spaced Δ))_h, and -200 (transformers adds its
// -100 mask twice) between tokens that were not neighbours before the cyclic shift.

interface Dims {
  batch: number;
  height: number;
  width: number;
  channels: number;
  heads: number;
  window: number;
  shift: number;
  pretrainedWindow: number;
  /** log τ per head (clamped at log 100 by the model). */
  logScale: number[];
}

const HIDDEN = 16; // the position-bias MLP's width (512 in checkpoints)

function randomWeights(d: Dims, seed: number): Omit<Swinv2BlockWeights, 'layernormBefore' | 'layernormAfter' | 'fc1' | 'fc2'> {
  const { channels: C, heads } = d;
  const lin = (s: number, bias = true) => ({
    weight: Tensor.fromFloat32(randomArray(C * C, s, 0.3), [C, C]),
    bias: bias ? Tensor.fromFloat32(randomArray(C, s + 1, 0.2), [C]) : undefined,
  });
  return {
    query: lin(seed),
    key: lin(seed + 2, false),
    value: lin(seed + 4),
    attnOut: lin(seed + 6),
    logitScale: Tensor.fromFloat32(Float32Array.from(d.logScale), [heads, 1, 1]),
    positionMlp: {
      fc1: {
        weight: Tensor.fromFloat32(randomArray(HIDDEN * 2, seed + 8, 1), [HIDDEN, 2]),
        bias: Tensor.fromFloat32(randomArray(HIDDEN, seed + 9, 0.5), [HIDDEN]),
      },
      fc2: { weight: Tensor.fromFloat32(randomArray(heads * HIDDEN, seed + 10, 1), [heads, HIDDEN]) },
    },
  };
}

type Weights = ReturnType<typeof randomWeights>;

function project(x: ArrayLike<number>, w: { weight: Tensor; bias?: Tensor }): Float64Array {
  const W = w.weight.data as Float32Array;
  const [n, m] = w.weight.shape;
  const out = new Float64Array(n);
  for (let o = 0; o < n; o++) {
    let acc = w.bias ? (w.bias.data as Float32Array)[o] : 0;
    for (let i = 0; i < m; i++) acc += W[o * m + i] * x[i];
    out[o] = acc;
  }
  return out;
}

/** 16·sigmoid(MLP(coords)) for one offset and head, from the paper's formula, in float64. */
function positionBias(w: Weights, d: Dims, dr: number, dc: number, h: number): number {
  const norm = d.pretrainedWindow > 0 ? d.pretrainedWindow - 1 : d.window - 1;
  const logSpaced = (v: number) => (Math.sign(v) * Math.log2(Math.abs((v / norm) * 8) + 1)) / 3;
  const hidden = project([logSpaced(dr), logSpaced(dc)], w.positionMlp.fc1).map((v) => Math.max(0, v));
  return 16 / (1 + Math.exp(-project(hidden, w.positionMlp.fc2)[h]));
}

function directCosineAttention(x: Float32Array, d: Dims, w: Weights): Float32Array {
  const { batch, height: H, width: W, channels: C, heads, window: ws, shift } = d;
  const Hp = Math.ceil(H / ws) * ws;
  const Wp = Math.ceil(W / ws) * ws;
  const hd = C / heads;
  const tau = d.logScale.map((s) => Math.exp(Math.min(s, Math.log(100))));
  const out = new Float32Array(batch * H * W * C);
  // Where a token sits after the cyclic shift: its window, and its offset to others in that window.
  const [si, sj] = [(i: number) => (i - shift + Hp) % Hp, (j: number) => (j - shift + Wp) % Wp];
  const windowOf = (i: number, j: number) => Math.floor(si(i) / ws) * Wp + Math.floor(sj(j) / ws);
  const wrapped = (i: number, j: number) => (i < shift ? 2 : 0) + (j < shift ? 1 : 0);
  const unit = (v: Float64Array, h: number) => {
    const s = v.subarray(h * hd, (h + 1) * hd);
    const n = Math.max(Math.hypot(...s), 1e-12); // F.normalize
    return Array.from(s, (e) => e / n);
  };
  for (let b = 0; b < batch; b++) {
    const token = (i: number, j: number) =>
      i < H && j < W ? x.subarray(((b * H + i) * W + j) * C, ((b * H + i) * W + j + 1) * C) : new Float32Array(C);
    const q: Float64Array[] = [];
    const k: Float64Array[] = [];
    const v: Float64Array[] = [];
    for (let i = 0; i < Hp; i++) {
      for (let j = 0; j < Wp; j++) {
        q.push(project(token(i, j), w.query));
        k.push(project(token(i, j), w.key));
        v.push(project(token(i, j), w.value));
      }
    }
    for (let i = 0; i < H; i++) {
      for (let j = 0; j < W; j++) {
        const p = i * Wp + j;
        const context = new Float64Array(C);
        for (let h = 0; h < heads; h++) {
          const qh = unit(q[p], h);
          const keys: { idx: number; score: number }[] = [];
          for (let ki = 0; ki < Hp; ki++) {
            for (let kj = 0; kj < Wp; kj++) {
              if (windowOf(ki, kj) !== windowOf(i, j)) continue;
              const kIdx = ki * Wp + kj;
              const kh = unit(k[kIdx], h);
              const cos = qh.reduce((acc, e, n) => acc + e * kh[n], 0);
              const mask = wrapped(ki, kj) === wrapped(i, j) ? 0 : -200;
              keys.push({ idx: kIdx, score: tau[h] * cos + positionBias(w, d, si(i) - si(ki), sj(j) - sj(kj), h) + mask });
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
    name: 'shifted, padded 7x5 grid, window 4, batch 2, one head at the τ clamp',
    dims: { batch: 2, height: 7, width: 5, channels: 8, heads: 2, window: 4, shift: 2, pretrainedWindow: 0, logScale: [2.3, 5] },
  },
  {
    name: 'shifted, 6x9 grid, window 3, pretrained window 6',
    dims: { batch: 1, height: 6, width: 9, channels: 12, heads: 3, window: 3, shift: 1, pretrainedWindow: 6, logScale: [1, 2, 3] },
  },
  {
    name: 'unshifted, padded 3x2 grid inside one window 4',
    dims: { batch: 2, height: 3, width: 2, channels: 8, heads: 2, window: 4, shift: 0, pretrainedWindow: 0, logScale: [2.3, 0.5] },
  },
];

describe.each(testDevices())('Swin V2 cosine window attention vs direct computation on %s', (device) => {
  it.each(CASES.flatMap((c) => (['reference', 'fused'] as const).map((kernel) => [`${c.name}, ${kernel}`, c.dims, kernel] as const)))(
    '%s',
    async (_name, dims, kernel) => {
      const { batch, height, width, channels } = dims;
      const weights = randomWeights(dims, 21);
      const x = randomArray(batch * height * width * channels, 7);
      const g = new GraphBuilder({ attentionKernel: kernel });
      const input = g.input('x', 'float32', ['batch', height * width, channels]);
      const { output } = cosineWindowAttention(g, { x: input, height, width }, weights, dims);
      g.output(output, 'y');
      const session = await ModelSession.create(g.toModelProto(), { device });
      const { y } = await session.run({ x: Tensor.fromFloat32(x, [batch, height * width, channels]) });
      await session.dispose();
      const cmp = compareArrays(y.data as Float32Array, directCosineAttention(x, dims, weights), 1e-5, 1e-5);
      expect(cmp.ok, `max |diff| ${cmp.maxAbs.toExponential(2)}`).toBe(true);
    },
  );
});

describe('Swin V2 shift mask', () => {
  it('keeps regions split by the shift apart by -200 (transformers adds its -100 twice), which matters once τ nears its clamp', async () => {
    // Wk = -Wq and every token ±v: a query scores -τ on its own region's keys and +τ on the other's,
    // so with τ = 100 a single -100 would hand the masked keys the weight.
    const dims: Dims = { batch: 1, height: 8, width: 8, channels: 8, heads: 2, window: 4, shift: 2, pretrainedWindow: 0, logScale: [5, 5] };
    const { channels: C, height, width } = dims;
    const identity = Float32Array.from({ length: C * C }, (_, i) => (i % (C + 1) === 0 ? 1 : 0));
    const weights = {
      ...randomWeights(dims, 31),
      query: { weight: Tensor.fromFloat32(identity, [C, C]) },
      key: {
        weight: Tensor.fromFloat32(
          identity.map((v) => -v),
          [C, C],
        ),
      },
    };
    const v = randomArray(C, 3);
    const x = new Float32Array(height * width * C);
    for (let i = 0; i < height; i++) {
      for (let j = 0; j < width; j++) x.set(i < dims.shift || j < dims.shift ? v.map((e) => -e) : v, (i * width + j) * C);
    }
    const g = new GraphBuilder();
    const { output } = cosineWindowAttention(g, { x: g.input('x', 'float32', ['batch', height * width, C]), height, width }, weights, dims);
    g.output(output, 'y');
    const session = await ModelSession.create(g.toModelProto(), { device: 'cpu' });
    const { y } = await session.run({ x: Tensor.fromFloat32(x, [1, height * width, C]) });
    await session.dispose();
    const cmp = compareArrays(y.data as Float32Array, directCosineAttention(x, dims, weights), 1e-4, 1e-4);
    expect(cmp.ok, `max |diff| ${cmp.maxAbs.toExponential(2)}`).toBe(true);
  });
});

describe('continuous position bias', () => {
  it('log-spaces the offsets of a window (normalised by window - 1) into [-1.06, 1.06]', () => {
    // window 2: Δ ∈ {-1, 0, 1} → ±8 → ±log2(9)/3.
    const e = Math.log2(9) / 3;
    const expected = [-e, -e, -e, 0, -e, e, 0, -e, 0, 0, 0, e, e, -e, e, 0, e, e];
    expect(compareArrays(logSpacedRelativeCoords(2, 0), expected, 1e-7).ok).toBe(true);
  });

  it('normalises by pretrained_window_size - 1 when the checkpoint names one', () => {
    // window 4, pretrained 3: Δ = 3 → 3/2·8 = 12 → log2(13)/3, beyond the ±1.06 of the pretrained window.
    const coords = logSpacedRelativeCoords(4, 3);
    expect(coords[coords.length - 1]).toBeCloseTo(Math.log2(13) / 3, 6);
    expect(logSpacedRelativeCoords(4, 0)[coords.length - 1]).toBeCloseTo(Math.log2(9) / 3, 6);
  });

  it('bounds every bias to (0, 16): 16·sigmoid of the MLP', () => {
    const mlp = {
      fc1: { weight: Tensor.fromFloat32(randomArray(64, 3, 1), [32, 2]), bias: Tensor.fromFloat32(randomArray(32, 4, 1), [32]) },
      fc2: { weight: Tensor.fromFloat32(randomArray(96, 5, 0.5), [3, 32]) },
    };
    const table = continuousPositionBias(mlp, 5, 0);
    expect(table.shape).toEqual([81, 3]);
    const values = Array.from(table.data as Float32Array);
    expect(Math.min(...values)).toBeGreaterThan(0);
    expect(Math.max(...values)).toBeLessThan(16);
    expect(new Set(values).size).toBeGreaterThan(200); // not saturated
  });
});
