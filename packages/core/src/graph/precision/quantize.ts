// Weight quantizers for Linear layers, run once at graph-build time on fp32 weights in MatMul layout
// ([K, N] = [in, out], as `linear()` stores them). Pure functions, no onnxruntime.

export interface Int8Weights {
  /** [K, N], symmetric (zero point 0). */
  q: Int8Array;
  /** [N]: one scale per output channel. */
  scale: Float32Array;
}

/**
 * Per-output-channel symmetric int8. `bits` = 7 keeps |q| ≤ 63: onnxruntime's u8s8 kernels on x86
 * without VNNI (AVX2, AVX-512 without VNNI) add pairs of u8·s8 products in saturating int16
 * (vpmaddubsw), and 255·127·2 overflows it; 255·63·2 does not (onnxruntime's own `reduce_range`).
 */
export function quantizeInt8PerChannel(w: Float32Array, k: number, n: number, bits: 7 | 8 = 7): Int8Weights {
  const qmax = bits === 8 ? 127 : 63;
  const absmax = new Float32Array(n);
  for (let r = 0; r < k; r++) {
    const row = r * n;
    for (let c = 0; c < n; c++) {
      const a = Math.abs(w[row + c]);
      if (a > absmax[c]) absmax[c] = a;
    }
  }
  const scale = new Float32Array(n);
  const inv = new Float32Array(n);
  for (let c = 0; c < n; c++) {
    scale[c] = absmax[c] > 0 ? absmax[c] / qmax : 1;
    inv[c] = 1 / scale[c];
  }
  const q = new Int8Array(k * n);
  for (let r = 0; r < k; r++) {
    const row = r * n;
    for (let c = 0; c < n; c++) {
      const v = Math.round(w[row + c] * inv[c]);
      q[row + c] = v > qmax ? qmax : Math.max(v, -qmax);
    }
  }
  return { q, scale };
}

export interface Int4Weights {
  /** [N, blocks, blockSize / 2]: two 4-bit values a byte, the lower k in the low nibble (MatMulNBits' B). */
  packed: Uint8Array;
  /** [N * blocks] */
  scales: Float32Array;
  /** [N * ceil(blocks / 2)], packed like `packed`. */
  zeroPoints: Uint8Array;
  blocks: number;
}

/**
 * Block-wise asymmetric 4-bit along K (com.microsoft MatMulNBits layout): each block of `blockSize`
 * input channels of one output channel gets a scale and a zero point, w ≈ (q - zp) · scale. The block
 * range always includes 0, so zero weights (and K padding) stay exactly zero.
 */
export function quantizeInt4Blockwise(w: Float32Array, k: number, n: number, blockSize = 32): Int4Weights {
  if (blockSize % 2 !== 0 || blockSize < 16) throw new Error(`block size ${blockSize} must be an even number ≥ 16`);
  const blocks = Math.ceil(k / blockSize);
  const bytesPerBlock = blockSize / 2;
  const packed = new Uint8Array(n * blocks * bytesPerBlock);
  const scales = new Float32Array(n * blocks);
  const zpBytes = Math.ceil(blocks / 2);
  const zeroPoints = new Uint8Array(n * zpBytes);
  const col = new Float32Array(blockSize);
  for (let c = 0; c < n; c++) {
    for (let b = 0; b < blocks; b++) {
      let lo = 0;
      let hi = 0;
      const k0 = b * blockSize;
      for (let i = 0; i < blockSize; i++) {
        const v = k0 + i < k ? w[(k0 + i) * n + c] : 0;
        col[i] = v;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      const scale = hi > lo ? (hi - lo) / 15 : 1;
      const zp = Math.min(15, Math.max(0, Math.round(-lo / scale)));
      scales[c * blocks + b] = scale;
      zeroPoints[c * zpBytes + (b >> 1)] |= b & 1 ? zp << 4 : zp;
      const base = (c * blocks + b) * bytesPerBlock;
      for (let i = 0; i < blockSize; i++) {
        const q = Math.min(15, Math.max(0, Math.round(col[i] / scale) + zp));
        packed[base + (i >> 1)] |= i & 1 ? q << 4 : q;
      }
    }
  }
  return { packed, scales, zeroPoints, blocks };
}

/** Inverse of quantizeInt4Blockwise, [K, N]: for tests and accuracy reports. */
export function dequantizeInt4Blockwise(q: Int4Weights, k: number, n: number, blockSize = 32): Float32Array {
  const out = new Float32Array(k * n);
  const zpBytes = Math.ceil(q.blocks / 2);
  for (let c = 0; c < n; c++) {
    for (let b = 0; b < q.blocks; b++) {
      const scale = q.scales[c * q.blocks + b];
      const zpByte = q.zeroPoints[c * zpBytes + (b >> 1)];
      const zp = b & 1 ? zpByte >> 4 : zpByte & 15;
      const base = (c * q.blocks + b) * (blockSize / 2);
      for (let i = 0; i < blockSize && b * blockSize + i < k; i++) {
        const byte = q.packed[base + (i >> 1)];
        const v = i & 1 ? byte >> 4 : byte & 15;
        out[(b * blockSize + i) * n + c] = (v - zp) * scale;
      }
    }
  }
  return out;
}
