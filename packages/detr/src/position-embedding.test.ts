import { GraphBuilder, ModelSession, Tensor } from '@vitkit/core/internal';
import { compareArrays } from '@vitkit/test-support';
import { describe, expect, it } from 'vitest';
import { sineFrequencies, sinePositionEmbedding, sinePositionEmbeddingGraph } from './model/position-embedding.js';

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

  it.each([
    ['onnx', 1e-6],
    ['polynomial', 1e-6],
  ] as const)(
    'the graph (CumSum, %s sin/cos) matches the build-time computation on padded masks, one session for every size',
    async (trig, atol) => {
      const d = 16;
      const g = new GraphBuilder();
      const m = g.input('mask', 'float32', ['batch', 'h', 'w']);
      g.output(sinePositionEmbeddingGraph(g, m, d, trig), 'pos');
      const session = await ModelSession.create(g.toModelProto(), { device: 'cpu' });
      try {
        for (const [b, h, w] of [
          [2, 5, 7],
          [1, 1, 1],
          [3, 9, 2],
        ]) {
          // Image i keeps the top-left (h - i) x (w - i) (at least 1x1); the rest is padding.
          const mask = new Float32Array(b * h * w);
          for (let i = 0; i < b; i++) {
            for (let y = 0; y < Math.max(1, h - i); y++) for (let x = 0; x < Math.max(1, w - i); x++) mask[(i * h + y) * w + x] = 1;
          }
          const { pos } = await session.run({ mask: new Tensor('float32', mask, [b, h, w]) });
          expect(pos.shape).toEqual([b, h * w, d]);
          for (let i = 0; i < b; i++) {
            const expected = sinePositionEmbedding(mask.subarray(i * h * w, (i + 1) * h * w), h, w, d);
            const actual = (pos.data as Float32Array).subarray(i * h * w * d, (i + 1) * h * w * d);
            const cmp = compareArrays(actual, expected, atol);
            expect(cmp.ok, `${h}x${w} image ${i}: max |diff| ${cmp.maxAbs}`).toBe(true);
          }
        }
      } finally {
        await session.dispose();
      }
    },
  );
});
