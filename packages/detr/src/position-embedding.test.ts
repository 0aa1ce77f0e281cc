import { GraphBuilder, ModelSession, Tensor } from '@vitkit/core/internal';
import { compareArrays } from '@vitkit/test-support';
import { describe, expect, it } from 'vitest';
import { nearestIndices, sineFrequencies, sinePositionEmbedding, sinePositionEmbeddingGraph } from './model/position-embedding.js';

describe('mask downsampling (F.interpolate nearest)', () => {
  it('picks floor(i * in / out) with a float32 scale, as PyTorch', () => {
    expect(nearestIndices(128, 4)).toEqual([0, 32, 64, 96]);
    expect(nearestIndices(8, 8)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(nearestIndices(3, 6)).toEqual([0, 0, 1, 1, 2, 2]);
    // 1066 → 34 (DETR's 800x1066 input at stride 32): scale 31.352941…
    const idx = nearestIndices(1066, 34);
    expect(idx.slice(0, 4)).toEqual([0, 31, 62, 94]);
    expect(idx[33]).toBe(1034);
    expect(nearestIndices(5, 3)).toEqual([0, 1, 3]);
  });
});

describe('sine position embedding', () => {
  it('frequencies pair up: 10000^(2⌊i/2⌋/F)', () => {
    const f = sineFrequencies(8);
    expect(f[0]).toBe(1);
    expect(f[1]).toBe(1);
    expect(f[2]).toBeCloseTo(10000 ** (2 / 8), 3);
    expect(f[7]).toBe(f[6]);
  });

  it('all-ones mask: first token is sin(2π/(h+ε)·…) pattern, y features before x features', () => {
    const [h, w, d] = [3, 4, 8];
    const pos = sinePositionEmbedding(new Float32Array(h * w).fill(1), h, w, d);
    // Token (0, 0): y = 1/3·2π, x = 1/4·2π; feature 0 = sin(y), 1 = cos(y), 4 = sin(x).
    expect(pos[0]).toBeCloseTo(Math.sin((2 * Math.PI) / 3), 5);
    expect(pos[1]).toBeCloseTo(Math.cos((2 * Math.PI) / 3), 5);
    expect(pos[4]).toBeCloseTo(Math.sin((2 * Math.PI) / 4), 5);
    // Last token: both normalised coordinates are 2π (up to eps).
    const last = (h * w - 1) * d;
    expect(pos[last]).toBeCloseTo(Math.sin(2 * Math.PI), 4);
  });

  it('the graph (MatMul cumsum, Sin/Cos) matches the build-time computation on padded masks', async () => {
    const [b, h, w, d] = [2, 5, 7, 16];
    const mask = new Float32Array(b * h * w);
    for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) mask[i * w + j] = 1; // image 1: all valid
    for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) mask[h * w + i * w + j] = 1; // image 2: 3x4 valid
    const g = new GraphBuilder();
    const m = g.input('mask', 'float32', ['batch', h, w]);
    g.output(sinePositionEmbeddingGraph(g, m, d), 'pos');
    expect(g.opCounts().has('CumSum')).toBe(false);
    const session = await ModelSession.create(g.toModelProto(), { device: 'cpu' });
    const { pos } = await session.run({ mask: new Tensor('float32', mask, [b, h, w]) });
    await session.dispose();
    expect(pos.shape).toEqual([b, h * w, d]);
    for (let i = 0; i < b; i++) {
      const expected = sinePositionEmbedding(mask.subarray(i * h * w, (i + 1) * h * w), h, w, d);
      const actual = (pos.data as Float32Array).subarray(i * h * w * d, (i + 1) * h * w * d);
      const cmp = compareArrays(actual, expected, 1e-6);
      expect(cmp.ok, `image ${i}: max |diff| ${cmp.maxAbs}`).toBe(true);
    }
  });
});
