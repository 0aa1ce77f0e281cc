import { describe, expect, it } from 'vitest';
import { Tensor } from '../tensor/tensor.js';
import { WeightStore } from './weight-store.js';

describe('WeightStore.byteLength', () => {
  it('sums the tensors in their own dtypes from the headers, reading no data', () => {
    const read: string[] = [];
    const store = WeightStore.onDemand(
      new Map([
        ['a.weight', { dtype: 'float32' as const, shape: [3, 4] }],
        ['b.bias', { dtype: 'float16' as const, shape: [5] }],
      ]),
      (name) => {
        read.push(name);
        return new Tensor('float32', new Float32Array(12), [3, 4]);
      },
    );
    expect(store.byteLength).toBe(3 * 4 * 4 + 5 * 2);
    expect(read).toEqual([]);
  });
});
