/**
 * Deterministic input values in [-1, 1) (an LCG): the same pixels for vitkit, the anchors and the
 * browser page, in Node and in the bundled page alike. Speed does not depend on the values.
 */
export function randomInput(n: number): Float32Array {
  const data = new Float32Array(n);
  let s = 42;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) | 0;
    data[i] = ((s >>> 0) / 4294967296) * 2 - 1;
  }
  return data;
}
