import { VitkitError } from '../errors/vitkit-error.js';
import type { GraphBuilder } from '../graph/graph-builder.js';
import { type Dim, formatShape, type Value } from '../graph/value.js';
import { fusedAttention } from './fused-kernel.js';
import { referenceAttention } from './reference-kernel.js';

export interface AttentionArgs {
  /** [B, S, C] */
  q: Value;
  /** [B, L, C] */
  k: Value;
  /** [B, L, C] */
  v: Value;
  numHeads: number;
  /** Defaults to 1/sqrt(C / numHeads). */
  scale?: number;
  /**
   * Additive bias on the scores, [P, H|1, S, L] with P = 1, or P windows that repeat along the batch
   * (Swin: batch = images × windows, P = windows per image).
   */
  bias?: Value;
  /** [B, L], 1 for keys to attend to and 0 for padding (any numeric dtype). */
  keyPaddingMask?: Value;
  /** Also return softmax probabilities [B, H, S, L] (attention maps); forces the reference kernel. */
  wantProbs?: boolean;
}

export interface AttentionResult {
  /** [B, S, C] */
  output: Value;
  /** [B, H, S, L] when asked for. */
  probs?: Value;
}

export type AttentionKernelName = 'reference' | 'fused';

export type AttentionKernel = (g: GraphBuilder, args: Required<Pick<AttentionArgs, 'scale'>> & AttentionArgs) => AttentionResult;

const KERNELS: Record<AttentionKernelName, AttentionKernel> = {
  reference: referenceAttention,
  fused: fusedAttention,
};

/**
 * Multi-head attention over already-projected q, k, v. Model code calls this and never spells
 * attention out; the kernel is the graph's (chosen per backend), except that a layer asked for its
 * probabilities uses the reference kernel, the one that can return them.
 */
export function attention(g: GraphBuilder, args: AttentionArgs, kernel: AttentionKernelName = g.attentionKernel): AttentionResult {
  checkAttentionShapes(args);
  const headDim = (args.q.shape[2] as number) / args.numHeads;
  const full = { ...args, scale: args.scale ?? 1 / Math.sqrt(headDim) };
  const chosen = args.wantProbs ? 'reference' : kernel;
  return KERNELS[chosen](g, full);
}

function checkAttentionShapes({ q, k, v, numHeads, bias, keyPaddingMask }: AttentionArgs): void {
  const fail = (why: string) =>
    new VitkitError(
      'GRAPH_SHAPE_MISMATCH',
      `attention: ${why} (q ${formatShape(q.shape)}, k ${formatShape(k.shape)}, v ${formatShape(v.shape)}).`,
    );
  if (q.shape.length !== 3 || k.shape.length !== 3 || v.shape.length !== 3) throw fail('q, k and v must be [batch, tokens, channels]');
  const c = q.shape[2];
  if (typeof c !== 'number' || c % numHeads !== 0) throw fail(`${c} channels do not split into ${numHeads} heads`);
  if (k.shape[2] !== c || v.shape[2] !== c) throw fail('q, k and v must have the same channels');
  if (!sameLength(k.shape[1], v.shape[1])) throw fail('k and v must have the same number of tokens');
  if (bias && bias.shape.length !== 4) throw fail(`bias must be [P, heads, queries, keys], got ${formatShape(bias.shape)}`);
  if (bias && (bias.shape[2] !== q.shape[1] || bias.shape[3] !== k.shape[1]))
    throw fail(`bias ${formatShape(bias.shape)} does not match the queries and keys`);
  if (keyPaddingMask && (keyPaddingMask.shape.length !== 2 || keyPaddingMask.shape[1] !== k.shape[1])) {
    throw fail(`keyPaddingMask must be [batch, keys], got ${formatShape(keyPaddingMask.shape)}`);
  }
}

function sameLength(a: Dim, b: Dim): boolean {
  return a === b || typeof a !== 'number' || typeof b !== 'number';
}
