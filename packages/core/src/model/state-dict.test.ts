import { describe, expect, it } from 'vitest';
import { Tensor } from '../tensor/tensor.js';
import { StateDictBuilder, synthesizeWeights } from './state-dict.js';

describe('synthesizeWeights', () => {
  const builder = new StateDictBuilder();
  builder.linear('fc1', 256, 128);
  builder.layerNorm('norm', 128);
  builder.batchNorm('bn', 16);
  builder.buffer(
    'index',
    new Tensor(
      'int64',
      BigInt64Array.from({ length: 4 }, (_, i) => BigInt(i)),
      [2, 2],
    ),
  );

  it('is deterministic per name and seed, with the declared shapes', () => {
    const a = synthesizeWeights(builder.spec);
    const b = synthesizeWeights(builder.spec);
    for (const [k, t] of a) expect(t.data).toEqual(b.get(k)!.data);
    expect(a.get('fc1.weight')!.shape).toEqual([256, 128]);
    expect(synthesizeWeights(builder.spec, 1).get('fc1.weight')!.data).not.toEqual(a.get('fc1.weight')!.data);
  });

  it('keeps activations O(1): matrices N(0, 0.02²), norms ≈ 1, variances ≥ 1; buffers as declared', () => {
    const a = synthesizeWeights(builder.spec);
    const w = a.get('fc1.weight')!.data as Float32Array;
    const std = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
    expect(std).toBeGreaterThan(0.018);
    expect(std).toBeLessThan(0.022);
    const norm = a.get('norm.weight')!.data as Float32Array;
    expect(Math.abs(norm.reduce((s, v) => s + v, 0) / norm.length - 1)).toBeLessThan(0.02);
    expect(Math.min(...(a.get('bn.running_var')!.data as Float32Array))).toBeGreaterThanOrEqual(1);
    expect(Array.from(a.get('index')!.data as BigInt64Array)).toEqual([0n, 1n, 2n, 3n]); // a buffer keeps its value
  });
});
