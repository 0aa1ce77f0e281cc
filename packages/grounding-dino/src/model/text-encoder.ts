import { type GraphBuilder, linear, norm, ops, readLinear, readNorm, Tensor, type Value, type WeightStore } from '@vitkit/core/internal';
import { MASKED_SCORE, maskedAttention, readAttention } from './attention.js';
import { and, exclusiveCumSum, greater, less, not, or, reduceMax, reduceMin, scalar, toBool, toFloat, toInt32 } from './onnx-ops.js';
import type { GroundingDinoSpec } from './spec.js';

/** [CLS], [SEP], '.' and '?' in bert-base-uncased: Grounding DINO hard-codes these ids to split a prompt into phrases. */
export const SPECIAL_TOKEN_IDS = [101, 102, 1012, 1029] as const;

/** The text side as the rest of the model sees it, truncated to `max_text_len` tokens. */
export interface TextFeatures {
  /** text_projection(BERT(input_ids)): [B, T, d_model]. */
  features: Value;
  /** attention_mask as float 0/1 [B, T] (1 = a real token). */
  tokenMask: Value;
  /** The phrase-wise self-attention mask as an additive bias [B, 1, T, T] (0 = attend). */
  selfAttentionBias: Value;
  /** Position ids restarting at each phrase, float [B, T]. */
  positionIds: Value;
}

/**
 * `generate_masks_with_special_tokens_and_transfer_map`, in the graph. The reference walks the
 * special tokens of the whole batch in row-major order with one `previous_col`: a special token at
 * column c (not the first or last column) makes tokens previous_col+1 … c one phrase (they attend to
 * each other); every token attends to itself. `previous_col` starts at 0 and carries over from the
 * previous row that had special tokens. Position ids count 0, 1, … over a phrase's words; its closing
 * special token and every token outside a phrase get 0 (v5.2.0's rule, see below).
 *
 * Here, per token a: k(a) = special tokens before it in its row, next(a) = the first special at or
 * after it, prev(a) = the last special before it (else the carried column). a is in a phrase iff
 * next(a) exists and is neither column 0 nor the last, and a > prev(a); two tokens share a phrase iff
 * both are in one and k is equal.
 */
export function phraseMasks(g: GraphBuilder, inputIds: Value /* int32 */): { mask: Value; positionIds: Value } {
  const isId = (id: number) => ops.equal(g, inputIds, g.constant(new Tensor('int32', Int32Array.of(id), []), `token_${id}`));
  const [a, b, c, d] = SPECIAL_TOKEN_IDS.map(isId);
  const special = or(g, or(g, a, b), or(g, c, d)); // [B, L] bool
  const s = toFloat(g, special);
  const ones = ops.add(g, ops.mul(g, ops.slice(g, s, [0], [1], [0]), scalar(g, 0, 'zero')), scalar(g, 1, 'one')); // [1, L] of 1
  const col = ops.sub(g, ops.cumSum(g, ones, 1), scalar(g, 1, 'one')); // [1, L]: 0 … L-1
  const lastCol = ops.sub(g, ops.reduceSum(g, ones, [1], true), scalar(g, 1, 'one')); // [1, 1]: L-1
  const none = scalar(g, -1, 'none');

  const kBefore = exclusiveCumSum(g, s, 1); // [B, L]
  const total = ops.reduceSum(g, s, [1], true); // [B, 1]
  const colA = ops.reshape(g, col, [1, -1, 1]);
  const colC = ops.reshape(g, col, [1, 1, -1]);
  const specialC = ops.unsqueeze(g, special, [1]); // [B, 1, L]
  const nextCol = reduceMin(g, ops.where(g, and(g, specialC, not(g, less(g, colC, colA))), colC, scalar(g, 1e9, 'far')), [2], false);
  const prevInRow = reduceMax(g, ops.where(g, and(g, specialC, less(g, colC, colA)), colC, none), [2], false);

  // The column carried into each row: the last special of the nearest earlier row that has one, else 0.
  const rowLast = reduceMax(g, ops.where(g, special, col, none), [1], true); // [B, 1]
  const rowOnes = ops.add(g, ops.mul(g, ops.slice(g, s, [0], [1], [1]), scalar(g, 0, 'zero')), scalar(g, 1, 'one')); // [B, 1]
  const row = ops.sub(g, ops.cumSum(g, rowOnes, 0), scalar(g, 1, 'one')); // [B, 1]: 0 … B-1
  const rowT = ops.reshape(g, row, [1, -1]);
  const earlierWithSpecial = and(g, less(g, rowT, row), ops.reshape(g, greater(g, total, scalar(g, 0, 'zero')), [1, -1]));
  const sourceRow = reduceMax(g, ops.where(g, earlierWithSpecial, rowT, none), [1], true); // [B, 1], -1 when none
  const carriedFrom = reduceMax(g, ops.where(g, ops.equal(g, rowT, sourceRow), ops.reshape(g, rowLast, [1, -1]), none), [1], true);
  const carried = ops.max(g, carriedFrom, scalar(g, 0, 'zero'));
  const prev = ops.where(g, less(g, prevInRow, scalar(g, 0, 'zero')), carried, prevInRow); // [B, L]

  const inPhrase = and(
    g,
    and(g, less(g, kBefore, total), greater(g, col, prev)),
    and(g, not(g, ops.equal(g, nextCol, scalar(g, 0, 'zero'))), not(g, ops.equal(g, nextCol, lastCol))),
  );
  // The phrase's closing special token gets position 0, not its index in the phrase as the loop above
  // (read from a newer transformers than v5.2.0) would give: the v5.2.0 fixture's encoder_logits match
  // only so (1e-8 against 2e-2); found from the fixture, not from v5.2.0's source.
  const positionIds = ops.where(
    g,
    and(g, inPhrase, not(g, special)),
    ops.sub(g, ops.sub(g, col, prev), scalar(g, 1, 'one')),
    scalar(g, 0, 'zero'),
  );
  const samePhrase = and(
    g,
    and(g, ops.unsqueeze(g, inPhrase, [2]), ops.unsqueeze(g, inPhrase, [1])),
    ops.equal(g, ops.unsqueeze(g, kBefore, [2]), ops.unsqueeze(g, kBefore, [1])),
  );
  return { mask: or(g, ops.equal(g, colA, colC), samePhrase), positionIds };
}

/**
 * BERT (`text_config`) over the prompt with the phrase mask and position ids, truncated to
 * `max_text_len`, then `text_projection` to d_model.
 */
export function textEncoder(
  g: GraphBuilder,
  inputs: { inputIds: Value; attentionMask: Value; tokenTypeIds: Value },
  spec: GroundingDinoSpec,
  weights: WeightStore,
): TextFeatures {
  // int64 is cast to int32 at the input: WebGPU runs no int64 arithmetic (Equal, Slice, … would fall back to the CPU).
  const { mask, positionIds } = phraseMasks(g, toInt32(g, inputs.inputIds));
  const m = spec.maxTextLen;
  const first = (x: Value, axes: number[]) =>
    ops.slice(
      g,
      x,
      axes.map(() => 0),
      axes.map(() => m),
      axes,
    );
  // The int64 inputs are truncated before their cast (both run on the CPU under WebGPU, side by side).
  const ids = toInt32(g, first(inputs.inputIds, [1]));
  const tokenTypes = toInt32(g, first(inputs.tokenTypeIds, [1]));
  const tokenMask = toFloat(g, toBool(g, first(inputs.attentionMask, [1])));
  const positions = first(positionIds, [1]);
  const phrase = first(toFloat(g, mask), [1, 2]);
  // 0 where the phrase mask attends, the most negative float elsewhere.
  const selfAttentionBias = ops.unsqueeze(g, ops.mul(g, ops.sub(g, scalar(g, 1, 'one'), phrase), scalar(g, MASKED_SCORE, 'masked')), [1]);

  const t = spec.text;
  const w = weights.scoped('model.text_backbone.');
  const table = (name: string, rows: number) => g.constant(w.get(`embeddings.${name}.weight`, [rows, t.hiddenSize]).toFloat32(), name);
  let x = g.scope('text_backbone.embeddings', () => {
    const words = ops.gather(g, table('word_embeddings', t.vocabSize), ids, 0);
    const types = ops.gather(g, table('token_type_embeddings', t.typeVocabSize), tokenTypes, 0);
    const pos = ops.gather(g, table('position_embeddings', t.maxPositions), toInt32(g, positions), 0);
    return norm(g, ops.add(g, ops.add(g, words, types), pos), readNorm(w, 'embeddings.LayerNorm', t.hiddenSize), t.eps, 'LayerNorm');
  });
  for (let i = 0; i < t.layers; i++) {
    const p = `encoder.layer.${i}.`;
    x = g.scope(`text_backbone.${p.slice(0, -1)}`, () => {
      const attn = maskedAttention(
        g,
        x,
        x,
        x,
        readAttention(w, `${p}attention.self.`, t.hiddenSize, `${p}attention.output.dense`),
        t.heads,
        selfAttentionBias,
      );
      const h = norm(g, ops.add(g, x, attn), readNorm(w, `${p}attention.output.LayerNorm`, t.hiddenSize), t.eps, 'attention.LayerNorm');
      const inner = ops.gelu(
        g,
        linear(
          g,
          h,
          readLinear(w, `${p}intermediate.dense`, { inFeatures: t.hiddenSize, outFeatures: t.intermediateSize }),
          'intermediate',
        ),
      );
      const out = linear(
        g,
        inner,
        readLinear(w, `${p}output.dense`, { inFeatures: t.intermediateSize, outFeatures: t.hiddenSize }),
        'output',
      );
      return norm(g, ops.add(g, h, out), readNorm(w, `${p}output.LayerNorm`, t.hiddenSize), t.eps, 'output.LayerNorm');
    });
  }
  const projection = readLinear(weights, 'model.text_projection', { inFeatures: t.hiddenSize, outFeatures: spec.dModel, bias: 'required' });
  return { features: linear(g, x, projection, 'text_projection'), tokenMask, selfAttentionBias, positionIds: positions };
}
