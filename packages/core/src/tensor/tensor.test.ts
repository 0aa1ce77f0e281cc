import { describe, expect, it } from 'vitest';
import { VitkitError } from '../errors/vitkit-error.js';
import { bfloat16BitsToFloat32, float16BitsToFloat32, float32ToBfloat16Bits, float32ToFloat16Bits } from './half.js';
import { Tensor } from './tensor.js';

describe('Tensor', () => {
  it('refuses data whose length does not match the shape', () => {
    expect(() => new Tensor('float32', new Float32Array(5), [2, 3])).toThrow(VitkitError);
  });
  it('reshapes with an inferred dimension', () => {
    expect(Tensor.zeros('float32', [2, 3, 4]).reshape([2, -1]).shape).toEqual([2, 12]);
  });
  it('widens fp16 and bf16 to fp32', () => {
    expect(Array.from(new Tensor('float16', Uint16Array.of(0x3c00, 0xc000, 0x3555), [3]).toFloat32().data)).toEqual([
      1,
      -2,
      float16BitsToFloat32(0x3555),
    ]);
    expect(Array.from(new Tensor('bfloat16', Uint16Array.of(0x3f80, 0x4049), [2]).toFloat32().data)).toEqual([
      1,
      bfloat16BitsToFloat32(0x4049),
    ]);
  });
});

describe('half precision', () => {
  it('round-trips every finite fp16 value exactly', () => {
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) === 0x7c00) continue;
      expect(float32ToFloat16Bits(float16BitsToFloat32(h))).toBe(h === 0x8000 ? 0x8000 : h);
    }
  });
  it('rounds to nearest even, saturating to infinity', () => {
    expect(float32ToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // halfway → even
    expect(float32ToFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(float32ToFloat16Bits(70000)).toBe(0x7c00);
    expect(float32ToFloat16Bits(2 ** -24)).toBe(1); // smallest subnormal
  });
  it('rounds bf16 to nearest even', () => {
    expect(float32ToBfloat16Bits(1)).toBe(0x3f80);
    expect(float32ToBfloat16Bits(Math.PI)).toBe(0x4049);
    expect(Number.isNaN(bfloat16BitsToFloat32(float32ToBfloat16Bits(Number.NaN)))).toBe(true);
  });
});
