import { GraphBuilder, ops, Tensor } from '@vitkit/core/internal';

/**
 * The same MatMul-only ceiling graph `vitkit bench` times in Node (4 chained [m,k]×[k,k]), for the
 * browser backends: serialized here, timed in the page before the model.
 */
export function ceilingGraph(m: number, k: number, depth = 4): { bytes: Uint8Array; flops: number } {
  const g = new GraphBuilder({ name: 'matmul-ceiling' });
  let x = g.input('a', 'float32', [m, k]);
  for (let i = 0; i < depth; i++) {
    const w = new Float32Array(k * k);
    for (let j = 0; j < w.length; j++) w[j] = (((j * 2654435761 + i) >>> 0) / 4294967296 - 0.5) / Math.sqrt(k);
    x = ops.matMul(g, x, g.constant(Tensor.fromFloat32(w, [k, k]), `w${i}`));
  }
  g.output(x, 'y');
  return { bytes: g.toModelProto(), flops: depth * 2 * m * k * k };
}
