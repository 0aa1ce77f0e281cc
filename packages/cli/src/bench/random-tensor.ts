import { Tensor } from '@vitkit/core';

/** Seeded N(0, scale²) values (xorshift + Box–Muller): deterministic inputs and ceiling weights. Speed does not depend on them. */
export function randomTensor(shape: readonly number[], seed: number, scale: number): Tensor<'float32'> {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) + 0.5) / 4294967296;
  };
  for (let i = 0; i < n; i++) data[i] = scale * Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next());
  return Tensor.fromFloat32(data, [...shape]);
}
