import {
  attention,
  type GraphBuilder,
  type LinearWeights,
  linear,
  norm,
  ops,
  readLinear,
  readNorm,
  type Value,
  type WeightStore,
} from '@vitkit/core/internal';

/** nn.LayerNorm's default epsilon, which every DETR layer norm uses. */
export const DETR_LN_EPS = 1e-5;

export type Activation = 'relu' | 'gelu';

export interface AttentionWeights {
  q: LinearWeights;
  k: LinearWeights;
  v: LinearWeights;
  out: LinearWeights;
}

/** `DetrAttention`'s four projections, each [d, d] with a bias. */
export function readAttention(w: WeightStore, prefix: string, d: number): AttentionWeights {
  const lin = (name: string): LinearWeights => readLinear(w, `${prefix}${name}`, { inFeatures: d, outFeatures: d, bias: 'required' });
  return { q: lin('q_proj'), k: lin('k_proj'), v: lin('v_proj'), out: lin('out_proj') };
}

/** fc1 [ffn, d] → fc2 [d, ffn], with biases. */
function readFeedForward(w: WeightStore, d: number): [LinearWeights, LinearWeights] {
  const fc1 = readLinear(w, 'fc1', { inFeatures: d, bias: 'required' });
  return [fc1, readLinear(w, 'fc2', { inFeatures: fc1.weight.shape[0], outFeatures: d, bias: 'required' })];
}

interface DetrAttentionArgs {
  /** [B, S, C]: the queries' content. */
  hidden: Value;
  /** Added to `hidden` for the queries (and, in self-attention, the keys), never to the values. */
  queryPos: Value;
  /** Cross-attention: the memory [B, L, C] the keys and values come from. */
  memory?: Value;
  /** Added to `memory` for the keys. */
  memoryPos?: Value;
  /** [B, L] keep-mask over the keys (1 = attend). */
  keyPaddingMask?: Value;
  numHeads: number;
  wantProbs: boolean;
}

/**
 * `DetrAttention`: position embeddings are added to the queries and keys only; values are the
 * plain content. q, k, v are projected here and attention itself goes through the core interface.
 */
export function detrAttention(g: GraphBuilder, w: AttentionWeights, a: DetrAttentionArgs): { output: Value; probs?: Value } {
  const withPos = ops.add(g, a.hidden, a.queryPos);
  const keySource = a.memory ? ops.add(g, a.memory, a.memoryPos as Value) : withPos;
  const valueSource = a.memory ?? a.hidden;
  // Projected without their biases, which attention() adds (the fused kernel inside MultiHeadAttention).
  const result = attention(g, {
    q: linear(g, withPos, { weight: w.q.weight }, 'q_proj'),
    k: linear(g, keySource, { weight: w.k.weight }, 'k_proj'),
    v: linear(g, valueSource, { weight: w.v.weight }, 'v_proj'),
    qkvBias: { q: w.q.bias, k: w.k.bias, v: w.v.bias },
    numHeads: a.numHeads,
    keyPaddingMask: a.keyPaddingMask,
    wantProbs: a.wantProbs,
  });
  return { output: linear(g, result.output, w.out, 'out_proj'), probs: result.probs };
}

function feedForward(g: GraphBuilder, x: Value, fc1: LinearWeights, fc2: LinearWeights, act: Activation): Value {
  const h = linear(g, x, fc1, 'fc1');
  return linear(g, act === 'relu' ? ops.relu(g, h) : ops.gelu(g, h), fc2, 'fc2');
}

export interface LayerOptions {
  numHeads: number;
  activation: Activation;
  wantProbs: boolean;
}

/** `DetrEncoderLayer` (post-norm): x = LN(x + SelfAttn(x + pos, x + pos, x)); x = LN(x + FFN(x)). */
export function encoderLayer(g: GraphBuilder, w: WeightStore, x: Value, pos: Value, keyPaddingMask: Value | undefined, o: LayerOptions) {
  const d = x.shape[2] as number;
  const attn = g.scope('self_attn', () =>
    detrAttention(g, readAttention(w, 'self_attn.', d), {
      hidden: x,
      queryPos: pos,
      keyPaddingMask,
      numHeads: o.numHeads,
      wantProbs: o.wantProbs,
    }),
  );
  const h = norm(g, ops.add(g, x, attn.output), readNorm(w, 'self_attn_layer_norm', d), DETR_LN_EPS, 'self_attn_layer_norm');
  const f = feedForward(g, h, ...readFeedForward(w, d), o.activation);
  return { hidden: norm(g, ops.add(g, h, f), readNorm(w, 'final_layer_norm', d), DETR_LN_EPS, 'final_layer_norm'), probs: attn.probs };
}

/**
 * `DetrDecoderLayer` (post-norm): self-attention among the object queries (query position
 * embeddings on q and k), cross-attention into the encoder memory (query position on q, spatial
 * position on k, padding masked), then the FFN.
 */
export function decoderLayer(
  g: GraphBuilder,
  w: WeightStore,
  x: Value,
  queryPos: Value,
  memory: Value,
  memoryPos: Value,
  memoryMask: Value | undefined,
  o: LayerOptions,
) {
  const d = x.shape[2] as number;
  const self = g.scope('self_attn', () =>
    detrAttention(g, readAttention(w, 'self_attn.', d), { hidden: x, queryPos, numHeads: o.numHeads, wantProbs: o.wantProbs }),
  );
  let h = norm(g, ops.add(g, x, self.output), readNorm(w, 'self_attn_layer_norm', d), DETR_LN_EPS, 'self_attn_layer_norm');
  const cross = g.scope('encoder_attn', () =>
    detrAttention(g, readAttention(w, 'encoder_attn.', d), {
      hidden: h,
      queryPos,
      memory,
      memoryPos,
      keyPaddingMask: memoryMask,
      numHeads: o.numHeads,
      wantProbs: o.wantProbs,
    }),
  );
  h = norm(g, ops.add(g, h, cross.output), readNorm(w, 'encoder_attn_layer_norm', d), DETR_LN_EPS, 'encoder_attn_layer_norm');
  const f = feedForward(g, h, ...readFeedForward(w, d), o.activation);
  return {
    hidden: norm(g, ops.add(g, h, f), readNorm(w, 'final_layer_norm', d), DETR_LN_EPS, 'final_layer_norm'),
    selfProbs: self.probs,
    crossProbs: cross.probs,
  };
}
