import { attention, GraphBuilder, ops, Tensor } from '@vitkit/core/internal';
import { describe, expect, it } from 'vitest';
import { ceilingGraph as cliCeilingGraph, countFlops } from '../../../packages/cli/src/commands/bench.js';
import { ceilingGraph } from './ceiling.js';

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

  it('counts the ceiling graph as 4 chained m·k·k products', () => {
    expect(cliCeilingGraph(64, 32).flops).toBe(4 * 2 * 64 * 32 * 32); // counted from the built graph
    expect(ceilingGraph(64, 32).flops).toBe(4 * 2 * 64 * 32 * 32); // the browser's copy
  });
});
