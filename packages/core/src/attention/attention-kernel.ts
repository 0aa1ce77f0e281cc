import type { GraphBuilder } from '../graph/graph-builder.js';
import type { Value } from '../graph/value.js';
import type { Tensor } from '../tensor/tensor.js';

/** The kernels `attention()` can emit; the graph records which one its builder was given. */
export type AttentionKernelName = GraphBuilder['attentionKernel'];

/** The Q, K and V projections' biases, [C] each as nn.Linear stores them; a missing one is zero. */
export interface QkvBias {
  q?: Tensor;
  k?: Tensor;
  v?: Tensor;
}

/**
 * Rewrites q [B, S, C] and k [B, L, C] (biases already added) before the scores are taken, keeping their
 * shapes: rotary position embeddings (DINOv3) go here.
 */
export type RotateQueryKey = (g: GraphBuilder, q: Value, k: Value) => { q: Value; k: Value };

export interface AttentionArgs {
  /** [B, S, C], projected (with or without its bias: see `qkvBias`). */
  q: Value;
  /** [B, L, C] */
  k: Value;
  /** [B, L, C] */
  v: Value;
  numHeads: number;
  /** Defaults to 1/sqrt(C / numHeads). */
  scale?: number;
  /**
   * Biases of the projections that made q, k and v, when those were projected without them: the fused
   * kernel then adds them inside MultiHeadAttention (no Add nodes), the reference kernel with Adds.
   */
  qkvBias?: QkvBias;
  /** Applied to the biased q and k before the kernel. */
  rotate?: RotateQueryKey;
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

/** What a kernel gets: the scale resolved, and any rotation already applied to q and k. */
export type KernelArgs = Omit<AttentionArgs, 'rotate' | 'scale'> & { scale: number };

export type AttentionKernel = (g: GraphBuilder, args: KernelArgs) => AttentionResult;
