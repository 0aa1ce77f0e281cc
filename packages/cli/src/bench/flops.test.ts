import { attention, GraphBuilder, ops, Tensor } from '@vitkit/core/internal';
import { describe, expect, it } from 'vitest';
import { countFlops, dimValue, heaviestOps } from './flops.js';

const zeros = (shape: number[]) => Tensor.fromFloat32(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);

/** conv (patchify) → linear → attention, with every FLOP counted by hand below. */
function tinyGraph(kernel: 'fused' | 'reference') {
  const g = new GraphBuilder({ attentionKernel: kernel });
  const x = g.input('pixel_values', 'float32', ['batch', 3, 8, 8]);
  // Conv 3→16, kernel 4, stride 4: output [B, 16, 2, 2]; each output is 3·4·4 = 48 MACs.
  const maps = ops.conv2d(g, x, g.constant(zeros([16, 3, 4, 4])), undefined, { strides: [4, 4] });
  const tokens = ops.transpose(g, ops.reshape(g, maps, [0, 16, -1]), [0, 2, 1]); // [B, 4, 16]
  // Linear 16→32: [B, 4, 16] × [16, 32].
  const h = ops.matMul(g, tokens, g.constant(zeros([16, 32])));
  const q = ops.slice(g, h, [0], [16], [-1]);
  const k = ops.slice(g, h, [16], [32], [-1]);
  // Attention over 4 tokens, width 16, 2 heads: Q·Kᵀ (4·4·16 MACs) and P·V (4·4·16 MACs).
  const { output } = attention(g, { q, k, v: k, numHeads: 2 });
  g.output(output, 'y');
  return g;
}

describe('FLOP counter', () => {
  const hand = (b: number) => 2 * b * (16 * 2 * 2 * 48 + 4 * 16 * 32 + 4 * 4 * 16 + 4 * 4 * 16);

  for (const kernel of ['fused', 'reference'] as const) {
    it(`equals a hand count on a tiny graph (${kernel} attention)`, () => {
      const g = tinyGraph(kernel);
      expect(countFlops(g.nodeRecords(), 1)).toBe(hand(1));
      expect(countFlops(g.nodeRecords(), 8)).toBe(hand(8));
    });
  }

  it('evaluates symbolic dims as products of the batch (Swin windows: batch*64), not as the batch', () => {
    expect(dimValue('batch*64', { batch: 2 })).toBe(128);
    expect(dimValue('batch/4', { batch: 8 })).toBe(2);
    expect(dimValue('height', { batch: 1 })).toBeNaN(); // unknown names make the count NaN, never silently wrong
    // Slices of a dim (clamped as ONNX's Slice) and concatenations, as Grounding DINO's text dims are written.
    expect(dimValue('sequence[0:16]', { sequence: 9 })).toBe(9);
    expect(dimValue('sequence[0:16]', { sequence: 20 })).toBe(16);
    expect(dimValue('sequence[4:16]', { sequence: 2 })).toBe(0);
    expect(dimValue('0+sequence[0:16]+16', { sequence: 9 })).toBe(25);
    expect(dimValue('sequence[-1:16]', { sequence: 9 })).toBeNaN(); // negative bounds are not read
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', ['batch*64', 49, 96]);
    g.output(ops.matMul(g, x, g.constant(zeros([96, 96]))), 'y');
    expect(countFlops(g.nodeRecords(), 2)).toBe(2 * 128 * 49 * 96 * 96);
  });

  it('lists the heaviest weight ops by total FLOPs: Linear as [m, k]·[k, n] (m = every leading dim), Conv by kernel and output size', () => {
    const g = tinyGraph('reference');
    const [first, ...rest] = heaviestOps(g.nodeRecords(), 4);
    // Conv: 4·16·2·2·48·2 = 24,576 FLOPs at batch 4; the Linear [16, 16]·[16, 32]: 4·4·16·32·2 = 16,384.
    expect(first).toEqual({ op: 'Conv', batch: 4, cin: 3, cout: 16, kernel: [4, 4], stride: [4, 4], out: [2, 2], group: 1 });
    expect(rest).toEqual([{ op: 'MatMul', m: 16, k: 16, n: 32 }]); // the attention's activation products are not weight ops
  });
});
