import { type GraphBuilder, linear, norm, ops, readLinear, readNorm, Tensor, type Value, type WeightStore } from '@vitkit/core/internal';
import { contrastiveLogits, predictionHead } from './heads.js';
import { and, gatherElements, greater, less, log, reduceMax, reduceMin, scalar, toBool, toFloat, topK } from './onnx-ops.js';
import type { GroundingDinoSpec } from './spec.js';
import type { TextFeatures } from './text-encoder.js';
import type { VisionFeatures } from './vision.js';

/** Two-stage query selection's results: the encoder's per-pixel predictions and the decoder's start. */
export interface QuerySelection {
  /** enc_outputs_class [B, S, max_text_len]. */
  encOutputsClass: Value;
  /** enc_outputs_coord_logits [B, S, 4] (+inf at masked proposals). */
  encOutputsCoordLogits: Value;
  /** The top `num_queries` proposals' boxes, sigmoid: [B, Q, 4] (init_reference_points, encoder_pred_boxes). */
  referencePoints: Value;
  /** The decoder's input: the learned `query_position_embeddings` for every image, [B, Q, d_model]. */
  target: Value;
  /** encoder_logits: the targets against the (pre-encoder) text features, [B, Q, max_text_len]. */
  encoderLogits: Value;
}

/**
 * Language-guided query selection (two-stage): every image token proposes a box around its cell
 * (generate_encoder_output_proposals), is scored against the text tokens and regressed; the
 * `num_queries` tokens with the highest best-token logit become the decoder's reference boxes.
 */
export function selectQueries(
  g: GraphBuilder,
  encodedVision: Value,
  encodedText: Value,
  vision: VisionFeatures,
  text: TextFeatures,
  spec: GroundingDinoSpec,
  weights: WeightStore,
): QuerySelection {
  const d = spec.dModel;
  const { objectQuery, proposals } = g.scope('proposals', () => outputProposals(g, encodedVision, vision, spec, weights));
  const encOutputsClass = contrastiveLogits(g, objectQuery, encodedText, text.tokenMask, spec.maxTextLen);
  const delta = predictionHead(g, objectQuery, weights, 'model.encoder_output_bbox_embed.', [d, d, d, 4]);
  const encOutputsCoordLogits = ops.add(g, delta, proposals);

  const best = reduceMax(g, encOutputsClass, [-1], false); // [B, S]: each proposal's best token
  const { indices } = topK(g, best, spec.numQueries); // [B, Q]
  const index4 = ops.add(g, ops.unsqueeze(g, indices, [2]), g.constant(new Tensor('int64', new BigInt64Array(4), [1, 1, 4]), 'zeros'));
  const referencePoints = ops.sigmoid(g, gatherElements(g, encOutputsCoordLogits, index4, 1));

  const queries = weights.get('model.query_position_embeddings.weight', [spec.numQueries, d]).toFloat32();
  const batchZeros = ops.mul(g, ops.slice(g, referencePoints, [0], [1], [2]), scalar(g, 0, 'zero')); // [B, Q, 1]
  const target = ops.add(g, batchZeros, g.constant(queries, 'query_position_embeddings'));
  const encoderLogits = contrastiveLogits(g, target, text.features, text.tokenMask, spec.maxTextLen);
  return { encOutputsClass, encOutputsCoordLogits, referencePoints, target, encoderLogits };
}

/**
 * generate_encoder_output_proposals: per level, boxes centred on each cell ((j + 0.5) / valid width,
 * (i + 0.5) / valid height) of side 0.05·2^level, as logits; padded tokens and boxes not inside
 * (0.01, 0.99) get +inf logits and a zero query; the queries go through enc_output + enc_output_norm.
 */
function outputProposals(
  g: GraphBuilder,
  encoded: Value,
  vision: VisionFeatures,
  spec: GroundingDinoSpec,
  weights: WeightStore,
): { objectQuery: Value; proposals: Value } {
  const levels: Value[] = [];
  let start = 0;
  vision.levelShapes.forEach(([h, w], level) => {
    const m = ops.reshape(g, ops.slice(g, vision.mask, [start], [start + h * w], [1]), [0, h, w]);
    const validH = ops.reduceSum(g, ops.gather(g, m, 0, 2), [1], true); // [B, 1]
    const validW = ops.reduceSum(g, ops.gather(g, m, 0, 1), [1], true);
    const scale = ops.unsqueeze(g, ops.concat(g, [validW, validH], 1), [1]); // [B, 1, 2]
    const cells = new Float32Array(h * w * 2);
    for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) cells.set([j + 0.5, i + 0.5], (i * w + j) * 2);
    const centres = ops.div(g, g.constant(new Tensor('float32', cells, [h * w, 2]), 'cell_centres'), scale); // [B, hw, 2]
    const side = ops.add(g, ops.mul(g, centres, scalar(g, 0, 'zero')), scalar(g, 0.05 * 2 ** level, 'side'));
    levels.push(ops.concat(g, [centres, side], 2));
    start += h * w;
  });
  const boxes = ops.concat(g, levels, 1); // [B, S, 4]
  const inside = and(g, greater(g, boxes, scalar(g, 0.01, 'low')), less(g, boxes, scalar(g, 0.99, 'high')));
  const allInside = toBool(g, reduceMin(g, toFloat(g, inside), [-1], true)); // [B, S, 1]
  const keep = and(g, allInside, ops.unsqueeze(g, toBool(g, vision.mask), [2])); // valid pixel and proposal
  const logits = log(g, ops.div(g, boxes, ops.sub(g, scalar(g, 1, 'one'), boxes)));
  const proposals = ops.where(g, keep, logits, scalar(g, Number.POSITIVE_INFINITY, 'inf'));
  const query = ops.where(g, keep, encoded, scalar(g, 0, 'zero'));
  const d = spec.dModel;
  const projected = linear(
    g,
    query,
    readLinear(weights, 'model.enc_output', { inFeatures: d, outFeatures: d, bias: 'required' }),
    'enc_output',
  );
  return { objectQuery: norm(g, projected, readNorm(weights, 'model.enc_output_norm', d), spec.eps, 'enc_output_norm'), proposals };
}
