import { type GraphBuilder, ops, type RotateQueryKey, Tensor, type Value } from '@vitkit/core/internal';

export interface RopeGrid {
  /** Tokens before the patches (CLS + registers): left unrotated. */
  prefixTokens: number;
  gridH: number;
  gridW: number;
  heads: number;
  headDim: number;
  /** config.json's `rope_theta`. */
  theta: number;
}

/**
 * DINOv3's 2-D rotary embedding for one input grid, as cos and sin tables [T, C] over all tokens.
 * Per patch, the centre (y, x) in [-1, 1] gives angles 2π·y·f and 2π·x·f for head_dim/4
 * frequencies f = theta^-(4i/head_dim); the head_dim/2 angles are tiled twice across the head.
 * Every step is rounded to float32 as transformers computes it (autocast off). Prefix rows are
 * cos 1, sin 0: q·1 + rot(q)·0 leaves CLS and registers exactly as they were. `sin` carries
 * rotate_half's sign (−sin on each head's first half), so the rotation is a swap of the halves.
 */
export function ropeTables(r: RopeGrid): { cos: Float32Array; sin: Float32Array } {
  const f = Math.fround;
  const { headDim, heads, gridH, gridW, prefixTokens } = r;
  const quarter = headDim / 4;
  const invFreq = Float32Array.from({ length: quarter }, (_, i) => f(1 / f(r.theta ** f((4 * i) / headDim))));
  const twoPi = f(2 * Math.PI);
  const centre = (i: number, n: number) => f(f(2 * f(f(i + 0.5) / n)) - 1);
  const c = heads * headDim;
  const tokens = prefixTokens + gridH * gridW;
  const cos = new Float32Array(tokens * c);
  const sin = new Float32Array(tokens * c);
  cos.fill(1, 0, prefixTokens * c);
  const angles = new Float32Array(headDim / 2);
  for (let y = 0; y < gridH; y++) {
    for (let x = 0; x < gridW; x++) {
      const [cy, cx] = [centre(y, gridH), centre(x, gridW)];
      for (let i = 0; i < quarter; i++) {
        angles[i] = f(f(twoPi * cy) * invFreq[i]);
        angles[quarter + i] = f(f(twoPi * cx) * invFreq[i]);
      }
      const row = (prefixTokens + y * gridW + x) * c;
      for (let h = 0; h < heads; h++) {
        for (let j = 0; j < headDim; j++) {
          const a = angles[j % (headDim / 2)];
          cos[row + h * headDim + j] = Math.cos(a);
          sin[row + h * headDim + j] = j < headDim / 2 ? -Math.sin(a) : Math.sin(a);
        }
      }
    }
  }
  return { cos, sin };
}

/** Channel order that swaps the two halves of every head: rotate_half without its sign. */
function halfSwap(heads: number, headDim: number): number[] {
  const half = headDim / 2;
  return Array.from({ length: heads * headDim }, (_, ch) => {
    const j = ch % headDim;
    return ch - j + (j < half ? j + half : j - half);
  });
}

/**
 * The rotation `attention()` applies to the biased q and k of every layer: x·cos + swap(x)·sin on
 * [B, T, C], where swap is one Gather over channels. The tables are constants of the graph, which
 * is built per input size, so the rotation costs two Muls, an Add and a Gather per tensor.
 */
export function ropeRotation(g: GraphBuilder, r: RopeGrid): RotateQueryKey {
  const { cos, sin } = ropeTables(r);
  const tokens = r.prefixTokens + r.gridH * r.gridW;
  const c = r.heads * r.headDim;
  const cosT = g.constant(new Tensor('float32', cos, [tokens, c]), 'rope.cos');
  const sinT = g.constant(new Tensor('float32', sin, [tokens, c]), 'rope.sin');
  const swap = halfSwap(r.heads, r.headDim);
  const rotate = (x: Value) => ops.add(g, ops.mul(g, x, cosT), ops.mul(g, ops.gather(g, x, swap, 2), sinT));
  return (_g, q, k) => ({ q: rotate(q), k: rotate(k) });
}
