import type { Device } from '../../packages/core/src/runtime/device.js';

/**
 * Devices the parity tests run on here: cpu and wasm always; webgpu where an adapter can be had
 * (SwiftShader on CPU-only machines). In CI a missing adapter is a failure, not a skip.
 */
export function testDevices(): Device[] {
  const devices: Device[] = ['cpu', 'wasm'];
  if (process.env.VK_ICD_FILENAMES || process.env.CI) devices.push('webgpu');
  return devices;
}

/** Max |a - b| and whether every element is within atol + rtol·|b| (numpy.allclose: equal infinities match). */
export function compareArrays(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol = 0) {
  let maxAbs = 0;
  let worst = -1;
  let ok = actual.length === expected.length;
  for (let i = 0; i < Math.min(actual.length, expected.length); i++) {
    const d = actual[i] === expected[i] ? 0 : Math.abs(actual[i] - expected[i]);
    if (!(d <= atol + rtol * Math.abs(expected[i]))) {
      ok = false;
      if (worst < 0) worst = i;
    }
    if (d > maxAbs || Number.isNaN(d)) maxAbs = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
  }
  return { ok, maxAbs, firstBad: worst };
}

/** Deterministic normal-ish values (mulberry32 + Box–Muller). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform() + 1e-12)) * Math.cos(2 * Math.PI * uniform());
}

export function randomArray(n: number, seed: number, scale = 1): Float32Array {
  const r = seededRandom(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = r() * scale;
  return out;
}
