import { describe, expect, it } from 'vitest';
import { StateDictBuilder, synthesizeWeights } from './state-dict.js';

describe('synthesizeWeights', () => {
  const builder = new StateDictBuilder();
  builder.linear('fc1', 256, 128);
  builder.layerNorm('norm', 128);
  builder.batchNorm('bn', 16);
  builder.tensor('rel', [9, 9], 'relindex');

  it('is deterministic per name and seed, with the declared shapes', () => {
    const a = synthesizeWeights(builder.spec);
    const b = synthesizeWeights(builder.spec);
    for (const [k, t] of a) expect(t.data).toEqual(b.get(k)!.data);
    expect(a.get('fc1.weight')!.shape).toEqual([256, 128]);
    expect(synthesizeWeights(builder.spec, 1).get('fc1.weight')!.data).not.toEqual(a.get('fc1.weight')!.data);
  });

  it('keeps activations O(1): matrices N(0, 0.02²), norms ≈ 1, variances ≥ 1, a valid relative-position index', () => {
    const a = synthesizeWeights(builder.spec);
    const w = a.get('fc1.weight')!.data as Float32Array;
    const std = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
    expect(std).toBeGreaterThan(0.018);
    expect(std).toBeLessThan(0.022);
    const norm = a.get('norm.weight')!.data as Float32Array;
    expect(Math.abs(norm.reduce((s, v) => s + v, 0) / norm.length - 1)).toBeLessThan(0.02);
    expect(Math.min(...(a.get('bn.running_var')!.data as Float32Array))).toBeGreaterThanOrEqual(1);
    const rel = a.get('rel')!.data as BigInt64Array;
    expect(rel.length).toBe(81);
    expect(Number(rel.reduce((m, v) => (v > m ? v : m), 0n))).toBe(24); // (2·3 − 1)² − 1 for a 3×3 window
  });
});
