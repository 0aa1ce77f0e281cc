import { describe, expect, it } from 'vitest';
import { layoutExternalData } from './external-data.js';
import { encodeModel, type GraphParts } from './graph-parts.js';
import { onnx } from './onnx-proto.js';

function partsWith(sizes: readonly number[]): GraphParts {
  return {
    name: 'g',
    opsets: new Map([['', 17]]),
    node: [],
    input: [],
    output: [],
    valueSpecs: new Map(),
    initializer: sizes.map((n, i) => ({ name: `t${i}`, dataType: 2, dims: [n], rawData: new Uint8Array(n).fill(i + 1) })),
  };
}

describe('layoutExternalData', () => {
  it('moves initializers of 1 KiB or more to aligned offsets, as views, and keeps small ones inline', () => {
    const parts = partsWith([5000, 100, 1024, 1023]);
    const layout = layoutExternalData(parts, { location: 'model.data' });
    expect(layout.slices.map((s) => s.offset)).toEqual([0, 8192]);
    expect(layout.byteLength).toBe(8192 + 1024);
    expect(layout.slices[0].data).toBe(parts.initializer[0].rawData); // never copied
    const [big, small, exact, under] = layout.parts.initializer;
    expect(big.rawData).toBeUndefined();
    expect(big.dataLocation).toBe(onnx.TensorProto.DataLocation.EXTERNAL);
    expect(big.externalData).toEqual([
      { key: 'location', value: 'model.data' },
      { key: 'offset', value: '0' },
      { key: 'length', value: '5000' },
    ]);
    expect(exact.externalData?.[1]).toEqual({ key: 'offset', value: '8192' });
    expect(small).toBe(parts.initializer[1]);
    expect(under).toBe(parts.initializer[3]);
    expect(parts.initializer[0].rawData).toBeDefined(); // the input is not mutated
  });

  it('lets a graph over protobuf’s 2 GiB be encoded, which inline refuses with a VitkitError', () => {
    // A zero-filled 2 GiB buffer is lazily backed by the OS: neither check touches its pages.
    const huge: GraphParts = {
      ...partsWith([]),
      initializer: [{ name: 'w', dataType: 2, dims: [2 ** 31], rawData: new Uint8Array(2 ** 31) }],
    };
    expect(() => encodeModel(huge)).toThrow(expect.objectContaining({ code: 'WEIGHTS_TOO_LARGE' }));
    const layout = layoutExternalData(huge, { location: 'model.data' });
    const decoded = onnx.ModelProto.decode(encodeModel(layout.parts));
    expect(decoded.graph?.initializer?.[0].externalData?.[2]).toEqual({ key: 'length', value: String(2 ** 31) });
  });
});
