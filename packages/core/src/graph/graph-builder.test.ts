import { describe, expect, it } from 'vitest';
import { VitkitError } from '../errors/vitkit-error.js';
import { ModelSession } from '../runtime/model-session.js';
import { Tensor } from '../tensor/tensor.js';
import { linear } from './blocks.js';
import { GraphBuilder } from './graph-builder.js';
import { add, concat, conv2d, layerNorm, matMul, reshape, transpose } from './ops.js';

function expectShapeError(fn: () => unknown, fragment: string) {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(VitkitError);
  expect((err as VitkitError).code).toBe('GRAPH_SHAPE_MISMATCH');
  expect((err as VitkitError).message).toContain(fragment);
}

describe('GraphBuilder shape checks', () => {
  it('refuses a MatMul whose inner dimensions differ', () => {
    const g = new GraphBuilder();
    const a = g.input('a', 'float32', ['batch', 4, 8]);
    const b = g.constant(Tensor.zeros('float32', [7, 3]));
    expectShapeError(() => matMul(g, a, b), 'inner dimensions differ (8 vs 7)');
  });

  it('refuses a linear layer whose weight does not fit the input', () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', ['batch', 5, 16]);
    expectShapeError(() => linear(g, x, { weight: Tensor.zeros('float32', [4, 12]) }), 'MatMul');
  });

  it('refuses broadcasting incompatible shapes', () => {
    const g = new GraphBuilder();
    const a = g.input('a', 'float32', [2, 3]);
    expectShapeError(() => add(g, a, g.constant(Tensor.zeros('float32', [4]))), 'cannot broadcast');
  });

  it('refuses a reshape that changes the element count', () => {
    const g = new GraphBuilder();
    expectShapeError(() => reshape(g, g.input('a', 'float32', [2, 3]), [4, 2]), 'cannot change 6 elements');
  });

  it('refuses concat of mismatched dims, layer norm of the wrong width, conv with wrong channels', () => {
    const g = new GraphBuilder();
    const a = g.input('a', 'float32', [1, 2, 3]);
    const b = g.input('b', 'float32', [1, 4, 3]);
    expectShapeError(() => concat(g, [a, b], 2), 'dimension 1 differs');
    expectShapeError(() => layerNorm(g, a, g.constant(Tensor.zeros('float32', [5])), undefined, 1e-5), 'scale must be [3]');
    const img = g.input('img', 'float32', ['batch', 3, 8, 8]);
    expectShapeError(() => conv2d(g, img, g.constant(Tensor.zeros('float32', [4, 2, 3, 3])), undefined), 'expects 2');
    expectShapeError(() => transpose(g, a, [0, 1]), 'perm');
  });

  it('tracks a symbolic batch through reshapes that multiply and divide it', () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', ['batch', 8, 8, 4]);
    const windows = reshape(g, x, [-1, 16, 4]); // batch*4 windows of 16 tokens
    expect(windows.shape).toEqual(['batch*4', 16, 4]);
    const grouped = reshape(g, windows, [-1, 4, 16, 4]);
    expect(grouped.shape).toEqual(['batch', 4, 16, 4]);
  });

  it('serializes a model onnxruntime runs, with float attributes typed as FLOAT', async () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', ['batch', 3]);
    const y = layerNorm(g, x, g.constant(Tensor.fromFloat32([1, 1, 1], [3])), g.constant(Tensor.fromFloat32([0, 0, 0], [3])), 1e-5);
    g.output(y, 'y');
    const s = await ModelSession.create(g.toModelProto(), { device: 'cpu' });
    const { y: out } = await s.run({ x: Tensor.fromFloat32([1, 2, 3, 0, 0, 3], [2, 3]) });
    const d = out.data as Float32Array;
    expect(d[0]).toBeCloseTo(-1.2247, 3);
    expect(d[2]).toBeCloseTo(1.2247, 3);
    await s.dispose();
  });

  it('rejects a non-integer passed as an integer attribute', () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [1]);
    expect(() => g.node('LeakyRelu', [x], { alpha: 0.1 }, [{ dtype: 'float32', shape: [1] }])).toThrow(/float\(\)/);
  });
});
