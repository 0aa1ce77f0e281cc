import { VitkitError } from '../errors/vitkit-error.js';
import type { GraphBuilder } from '../graph/graph-builder.js';
import { type Dim, formatShape, type Value } from '../graph/value.js';
import type { AttentionArgs, AttentionKernel, AttentionKernelName, AttentionResult, KernelArgs } from './attention-kernel.js';
import { fusedAttention } from './fused-kernel.js';
import { addQkvBias } from './qkv-bias.js';
import { referenceAttention } from './reference-kernel.js';

export type { AttentionArgs, AttentionKernelName, AttentionResult, QkvBias, RotateQueryKey } from './attention-kernel.js';

const KERNELS: Record<AttentionKernelName, AttentionKernel> = {
  reference: referenceAttention,
  fused: fusedAttention,
};

/**
 * Multi-head attention over projected q, k, v. Model code calls this and never spells attention out;
 * the kernel is the graph's (chosen per backend above graph/), except that a layer asked for its
 * probabilities uses the reference kernel, the one that can return them.
 *
 * Projection biases given as `qkvBias` are the kernel's to add (the fused one folds them into
 * MultiHeadAttention), unless a `rotate` hook must see the biased q and k: then they are added first.
 */
export function attention(g: GraphBuilder, args: AttentionArgs, kernel: AttentionKernelName = g.attentionKernel): AttentionResult {
  checkAttentionShapes(args);
  const { rotate, scale, ...rest } = args;
  const headDim = (args.q.shape[2] as number) / args.numHeads;
  let kernelArgs: KernelArgs = { ...rest, scale: scale ?? 1 / Math.sqrt(headDim) };
  if (rotate) {
    const biased = addQkvBias(g, args, args.qkvBias);
    const rotated = rotate(g, biased.q, biased.k);
    checkRotated(biased, rotated);
    kernelArgs = { ...kernelArgs, ...rotated, v: biased.v, qkvBias: undefined };
  }
  return KERNELS[args.wantProbs ? 'reference' : kernel](g, kernelArgs);
}

function checkAttentionShapes({ q, k, v, numHeads, qkvBias, bias, keyPaddingMask }: AttentionArgs): void {
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
  for (const [which, b] of Object.entries(qkvBias ?? {})) {
    if (b && (b.shape.length !== 1 || b.shape[0] !== c)) throw fail(`qkvBias.${which} must be [${c}], got ${formatShape(b.shape)}`);
  }
  if (bias && bias.shape.length !== 4) throw fail(`bias must be [P, heads, queries, keys], got ${formatShape(bias.shape)}`);
  if (bias && (bias.shape[2] !== q.shape[1] || bias.shape[3] !== k.shape[1]))
    throw fail(`bias ${formatShape(bias.shape)} does not match the queries and keys`);
  if (keyPaddingMask && (keyPaddingMask.shape.length !== 2 || keyPaddingMask.shape[1] !== k.shape[1])) {
    throw fail(`keyPaddingMask must be [batch, keys], got ${formatShape(keyPaddingMask.shape)}`);
  }
}

/** A rotation may rewrite q and k but not their shapes: the kernel and the output projection rely on them. */
function checkRotated(before: { q: Value; k: Value }, after: { q: Value; k: Value }): void {
  for (const which of ['q', 'k'] as const) {
    const [b, a] = [before[which].shape, after[which].shape];
    if (a.length !== b.length || a.some((d, i) => d !== b[i])) {
      throw new VitkitError(
        'GRAPH_SHAPE_MISMATCH',
        `attention: rotate changed ${which} from ${formatShape(b)} to ${formatShape(a)}; it must keep the shape.`,
      );
    }
  }
}

function sameLength(a: Dim, b: Dim): boolean {
  return a === b || typeof a !== 'number' || typeof b !== 'number';
}
