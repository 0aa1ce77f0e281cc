import { type GraphBuilder, type GraphOutputs, type GraphRequest, type Value, VitkitError, type WeightStore } from '@vitkit/core/internal';
import { decoder } from './decoder.js';
import { featureEnhancer } from './feature-enhancer.js';
import { selectQueries } from './query-selection.js';
import type { GroundingDinoSpec } from './spec.js';
import { textEncoder } from './text-encoder.js';
import { visionFeatures } from './vision.js';

/**
 * GroundingDinoForObjectDetection as transformers v5.2.0 computes it, the paper's Figure 2 left to
 * right:
 *
 *   Swin backbone → input projections (+ extra levels) with sine position embeddings
 *   BERT over the prompt (phrase-wise mask) → text projection
 *   feature enhancer (image↔text fusion, text self-attention, deformable image self-attention)
 *   language-guided query selection (two-stage, top num_queries proposals)
 *   cross-modality decoder with box refinement → contrastive class logits and boxes
 */
export function buildGroundingDinoGraph(
  g: GraphBuilder,
  inputs: Readonly<Record<string, Value>>,
  spec: GroundingDinoSpec,
  weights: WeightStore,
  request: Pick<GraphRequest, 'outputHiddenStates' | 'outputAttentions'>,
): GraphOutputs {
  if (request.outputAttentions) {
    throw new VitkitError(
      'INVALID_ARGUMENT',
      'GroundingDinoForObjectDetection: outputAttentions is not supported (its deformable and fusion attentions have no single probability map); ask without it.',
    );
  }
  const vision = g.scope('vision', () => visionFeatures(g, inputs.pixel_values, inputs.pixel_mask, spec, weights));
  const text = g.scope('text', () =>
    textEncoder(
      g,
      { inputIds: inputs.input_ids, attentionMask: inputs.attention_mask, tokenTypeIds: inputs.token_type_ids },
      spec,
      weights,
    ),
  );
  const encoded = featureEnhancer(g, vision, text, spec, weights);
  const selected = g.scope('query_selection', () => selectQueries(g, encoded.vision, encoded.text, vision, text, spec, weights));
  const decoded = decoder(g, selected.target, selected.referencePoints, encoded, vision, text, spec, weights, request.outputHiddenStates);
  return {
    outputs: {
      logits: decoded.logits,
      pred_boxes: decoded.predBoxes,
      last_hidden_state: decoded.lastHiddenState,
      init_reference_points: selected.referencePoints,
      intermediate_hidden_states: decoded.intermediateHiddenStates,
      intermediate_reference_points: decoded.intermediateReferencePoints,
      encoder_last_hidden_state_vision: encoded.vision,
      encoder_last_hidden_state_text: encoded.text,
      enc_outputs_class: selected.encOutputsClass,
      enc_outputs_coord_logits: selected.encOutputsCoordLogits,
      encoder_logits: selected.encoderLogits,
      encoder_pred_boxes: selected.referencePoints,
    },
    tuples: request.outputHiddenStates
      ? {
          encoder_vision_hidden_states: encoded.visionStates,
          encoder_text_hidden_states: encoded.textStates,
          decoder_hidden_states: decoded.hiddenStates,
        }
      : {},
  };
}
