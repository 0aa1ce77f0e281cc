import { GraphBuilder, ModelSession, Tensor } from '@vitkit/core/internal';
import { testDevices } from '@vitkit/test-support';
import { describe, expect, it } from 'vitest';
import { downsampleMask, nearestIndices, nearestIndicesExact } from './model/pixel-mask.js';

/** Every (in, out) a DETR backbone makes: out = ⌈in / 2^k⌉ for output strides 4 (layer1) to 32, and 2 and 64 besides. */
const strides = [2, 4, 8, 16, 32, 64];

describe('mask downsampling (F.interpolate nearest)', () => {
  it('picks floor(i * in / out) with a float32 scale, as PyTorch', () => {
    const picked = (inSize: number, outSize: number) => [...nearestIndices(inSize, outSize)];
    expect(picked(128, 4)).toEqual([0, 32, 64, 96]);
    expect(picked(8, 8)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(picked(3, 6)).toEqual([0, 0, 1, 1, 2, 2]);
    // 1066 → 34 (DETR's 800x1066 input at stride 32): scale 31.352941…
    const idx = picked(1066, 34);
    expect(idx.slice(0, 4)).toEqual([0, 31, 62, 94]);
    expect(idx[33]).toBe(1034);
    expect(picked(5, 3)).toEqual([0, 1, 3]);
  });

  it("the graph's exact integer rule equals PyTorch's float32 one for every backbone size pair, in ≤ 8192", () => {
    let pairs = 0;
    for (let inSize = 1; inSize <= 8192; inSize++) {
      for (const s of strides) {
        const outSize = Math.ceil(inSize / s);
        const torch = nearestIndices(inSize, outSize);
        const exact = nearestIndicesExact(inSize, outSize);
        for (let i = 0; i < outSize; i++)
          if (torch[i] !== exact[i]) expect.fail(`in ${inSize}, out ${outSize}, index ${i}: ${exact[i]} vs torch ${torch[i]}`);
        pairs++;
      }
    }
    expect(pairs).toBe(8192 * strides.length);
    // Not so for every ratio (why the rule is checked on the pairs the backbone makes): 26 → 22.
    expect(nearestIndicesExact(26, 22)[11]).toBe(13);
    expect(nearestIndices(26, 22)[11]).toBe(12);
  });

  /** A graph taking a mask [1, H, W] and a feature map [1, 1, h, w] of any sizes. */
  function downsampleGraph(): Uint8Array {
    const g = new GraphBuilder();
    const mask = g.input('mask', 'float32', [1, 'height', 'width']);
    const features = g.input('features', 'float32', [1, 1, 'fh', 'fw']);
    g.output(downsampleMask(g, mask, features), 'downsampled');
    return g.toModelProto();
  }

  /** Rows (axis 1) or columns (axis 2) the graph picks, read off a mask that holds each row's (column's) index. */
  async function pickedIndices(session: ModelSession, inSize: number, outSize: number, axis: 1 | 2): Promise<number[]> {
    const [h, w, fh, fw] = axis === 1 ? [inSize, 2, outSize, 2] : [2, inSize, 2, outSize];
    const mask = new Float32Array(h * w);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) mask[y * w + x] = axis === 1 ? y : x;
    const { downsampled } = await session.run({
      mask: new Tensor('float32', mask, [1, h, w]),
      features: Tensor.zeros('float32', [1, 1, fh, fw]),
    });
    expect(downsampled.shape).toEqual([1, fh, fw]);
    const out = downsampled.data as Float32Array;
    return axis === 1 ? Array.from({ length: fh }, (_, i) => out[i * fw]) : Array.from(out.subarray(0, fw));
  }

  it.each(testDevices())('%s: one session picks PyTorch’s rows and columns for every input size', async (device) => {
    const session = await ModelSession.create(downsampleGraph(), { device });
    // Every size up to 1400 on cpu; a spread of them elsewhere (the int32 ops are exact on every device).
    const step = device === 'cpu' ? 1 : 37;
    try {
      for (let inSize = 1; inSize <= 1400; inSize += step) {
        for (const s of [8, 16, 32]) {
          const outSize = Math.ceil(inSize / s);
          for (const axis of [1, 2] as const) {
            const got = await pickedIndices(session, inSize, outSize, axis);
            expect(got, `in ${inSize}, out ${outSize}, axis ${axis}`).toEqual([...nearestIndices(inSize, outSize)]);
          }
        }
      }
    } finally {
      await session.dispose();
    }
  });
});
