import { describe, expect, it } from 'vitest';
import { Tensor } from '../tensor/tensor.js';
import { GraphBuilder } from './graph-builder.js';
import { conv2d, cumSum, flatten, gather, gatherNd, gridSample, maxPool2d, reduceSum, reshape, squeeze, unsqueeze } from './ops.js';

/** A conv weight [cout, cin, k, k] (values do not matter for shapes). */
const weight = (g: GraphBuilder, cout: number, cin: number, k: number) => g.constant(Tensor.zeros('float32', [cout, cin, k, k]));

describe('symbolic spatial sizes', () => {
  it("a ResNet's strided convs and pool name the feature map ceil(height/32); 'same' convs keep the name", () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', ['batch', 3, 'height', 'width']);
    let h = conv2d(g, x, weight(g, 4, 3, 7), undefined, { strides: [2, 2], pads: [3, 3, 3, 3] });
    expect(h.shape).toEqual(['batch', 4, 'ceil(height/2)', 'ceil(width/2)']);
    h = maxPool2d(g, h, { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });
    h = conv2d(g, h, weight(g, 4, 4, 3), undefined, { pads: [1, 1, 1, 1] });
    h = conv2d(g, h, weight(g, 4, 4, 3), undefined, { pads: [2, 2, 2, 2], dilations: [2, 2] });
    expect(h.shape).toEqual(['batch', 4, 'ceil(height/4)', 'ceil(width/4)']);
    for (let i = 0; i < 3; i++) h = conv2d(g, h, weight(g, 4, 4, 1), undefined, { strides: [2, 2] });
    expect(h.shape).toEqual(['batch', 4, 'ceil(height/32)', 'ceil(width/32)']);
    // Anything else is written out; numbers are computed as before.
    expect(conv2d(g, x, weight(g, 4, 3, 3), undefined).shape[2]).toBe('floor((height-2)/1)');
    expect(
      conv2d(g, g.input('y', 'float32', [1, 3, 800, 1066]), weight(g, 4, 3, 7), undefined, { strides: [2, 2], pads: [3, 3, 3, 3] }).shape,
    ).toEqual([1, 4, 400, 533]);
    // Flattening the map infers the token count as a product of the two names.
    expect(reshape(g, h, [0, 4, -1]).shape).toEqual(['batch', 4, 'ceil(height/32)*ceil(width/32)']);
    expect(flatten(g, h, 2).shape).toEqual(['batch*4', 'ceil(height/32)*ceil(width/32)']);
    const u = unsqueeze(g, h, [1]);
    expect(u.shape).toEqual(['batch', 1, 4, 'ceil(height/32)', 'ceil(width/32)']);
    expect(squeeze(g, u, [1]).shape).toEqual(h.shape);
    expect(() => squeeze(g, h, [1])).toThrowError(expect.objectContaining({ code: 'GRAPH_SHAPE_MISMATCH' }));
  });

  it('gather takes a runtime index tensor, whose shape replaces the axis; cumSum and reduceSum keep their shapes', () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', ['batch', 'height', 'width']);
    const rows = g.input('rows', 'int32', ['h']);
    expect(gather(g, x, rows, 1).shape).toEqual(['batch', 'h', 'width']);
    expect(() => gather(g, x, g.input('bad', 'float32', ['h']), 1)).toThrowError(expect.objectContaining({ code: 'GRAPH_SHAPE_MISMATCH' }));
    expect(cumSum(g, x, 2).shape).toEqual(['batch', 'height', 'width']);
    expect(reduceSum(g, rows, [0], false).shape).toEqual([]);
    expect(reduceSum(g, x, [1], true).shape).toEqual(['batch', 1, 'width']);
  });
});

describe('sampling ops', () => {
  it("gridSample names its mode by the opset ('bilinear' before 20, 'linear' after) and refuses opsets below 16", () => {
    const mode = (opset: number) => {
      const g = new GraphBuilder({ opset });
      const y = gridSample(g, g.input('x', 'float32', ['n', 4, 5, 6]), g.input('grid', 'float32', ['n', 7, 3, 2]), {
        paddingMode: 'zeros',
        alignCorners: false,
      });
      expect(y.shape).toEqual(['n', 4, 7, 3]);
      return g.nodeRecords()[0].attrs.mode;
    };
    expect(mode(16)).toBe('bilinear');
    expect(mode(19)).toBe('bilinear');
    expect(mode(21)).toBe('linear');
    expect(() => mode(15)).toThrowError(expect.objectContaining({ code: 'GRAPH_INVALID' }));
  });

  it('gatherNd with batch dims: index rows replace the indexed axes; int32 indices or a rank mismatch are refused', () => {
    const g = new GraphBuilder();
    const data = g.input('data', 'float32', ['bh', 30, 8]);
    expect(gatherNd(g, data, g.input('i', 'int64', ['bh', 100, 1]), 1).shape).toEqual(['bh', 100, 8]);
    expect(() => gatherNd(g, data, g.input('j', 'int32', ['bh', 100, 1]), 1)).toThrowError(
      expect.objectContaining({ code: 'GRAPH_SHAPE_MISMATCH' }),
    );
    expect(() => gatherNd(g, data, g.input('k', 'int64', ['bh', 100, 3]), 1)).toThrowError(
      expect.objectContaining({ code: 'GRAPH_SHAPE_MISMATCH' }),
    );
  });
});
