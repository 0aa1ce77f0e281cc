import { type GraphBuilder, multiScaleDeformableAttention, norm, ops, readNorm, type Value, type WeightStore } from '@vitkit/core/internal';
import { keyMaskedAttention, readAttention } from './attention.js';
import { feedForward } from './feature-enhancer.js';
import { contrastiveLogits, inverseSigmoid, predictionHead } from './heads.js';
import { coordinateSineEmbedding } from './sine-embedding.js';
import type { GroundingDinoSpec } from './spec.js';
import type { TextFeatures } from './text-encoder.js';
import type { VisionFeatures } from './vision.js';

export interface DecoderOutputs {
  lastHiddenState: Value;
  /** [B, layers, Q, d_model]: each layer's output after the decoder's layer norm. */
  intermediateHiddenStates: Value;
  /** [B, layers, Q, 4]: each layer's refined boxes. */
  intermediateReferencePoints: Value;
  /** The last layer's heads: [B, Q, max_text_len] and [B, Q, 4]. */
  logits: Value;
  predBoxes: Value;
  /** decoder_hidden_states: each layer's input after the layer norm, then the last output (as transformers collects them). */
  hiddenStates: Value[];
}

/**
 * The cross-modality decoder with iterative box refinement: each layer's queries get a position
 * from their reference box (sine embedding → ref_point_head), attend to themselves, to the text
 * and (deformably) to the image around the box; `bbox_embed` then moves the box in logit space.
 * Then the heads of GroundingDinoForObjectDetection on the last layer: contrastive class logits
 * against the encoded text, and the box from the layer's input reference.
 */
export function decoder(
  g: GraphBuilder,
  target: Value,
  initReferencePoints: Value,
  encoded: { vision: Value; text: Value },
  vision: VisionFeatures,
  text: TextFeatures,
  spec: GroundingDinoSpec,
  weights: WeightStore,
  wantHiddenStates = false,
): DecoderOutputs {
  const d = spec.dModel;
  const ratios4 = ops.unsqueeze(g, ops.concat(g, [vision.validRatios, vision.validRatios], 2), [1]); // [1→B, 1, L, 4]
  const layerNorm = readNorm(weights, 'model.decoder.layer_norm', d);
  // The box heads are tied to model.decoder.bbox_embed; a checkpoint keeps them under either name.
  const bboxPrefix = (i: number) => {
    const name = `bbox_embed.${spec.shareBboxEmbed ? 0 : i}.`;
    return weights.findPrefix(`${name}layers.0.weight`, ['', 'model.decoder.']) === 'model.decoder.' ? `model.decoder.${name}` : name;
  };
  let hidden = target;
  let reference = initReferencePoints;
  const references: Value[] = [];
  const intermediate: Value[] = [];
  const hiddenStates: Value[] = [];
  for (let i = 0; i < spec.decoderLayers; i++) {
    references.push(reference);
    if (wantHiddenStates) hiddenStates.push(norm(g, hidden, layerNorm, spec.eps, 'layer_norm'));
    g.scope(`decoder.layers.${i}`, () => {
      const referenceInput = ops.mul(g, ops.unsqueeze(g, reference, [2]), ratios4); // [B, Q, L, 4]
      const level0 = ops.gather(g, referenceInput, 0, 2); // [B, Q, 4]
      const sine = coordinateSineEmbedding(g, level0, d / 2, true);
      const queryPosition = predictionHead(g, sine, weights, 'model.decoder.reference_points_head.', [2 * d, d, d]);
      hidden = decoderLayer(
        g,
        hidden,
        queryPosition,
        referenceInput,
        encoded,
        vision,
        text,
        spec,
        weights.scoped(`model.decoder.layers.${i}.`),
      );
      const delta = predictionHead(g, hidden, weights, bboxPrefix(i), [d, d, d, 4]);
      reference = ops.sigmoid(g, ops.add(g, delta, inverseSigmoid(g, reference)));
      intermediate.push(norm(g, hidden, layerNorm, spec.eps, 'layer_norm'));
    });
  }
  const stack = (xs: Value[]) =>
    ops.concat(
      g,
      xs.map((x) => ops.unsqueeze(g, x, [1])),
      1,
    );
  const last = intermediate[intermediate.length - 1];
  // The heads read the layer's input reference (init for layer 0, else the previous layer's refined box).
  const lastInput = references[references.length - 1];
  const logits = contrastiveLogits(g, last, encoded.text, text.tokenMask, spec.maxTextLen);
  const delta = predictionHead(g, last, weights, bboxPrefix(spec.decoderLayers - 1), [d, d, d, 4]);
  return {
    lastHiddenState: last,
    intermediateHiddenStates: stack(intermediate),
    intermediateReferencePoints: stack(references.slice(1).concat(reference)),
    logits,
    predBoxes: ops.sigmoid(g, ops.add(g, delta, inverseSigmoid(g, lastInput))),
    hiddenStates: wantHiddenStates ? [...hiddenStates, last] : [],
  };
}

/**
 * GroundingDinoDecoderLayer (post-norm): self-attention (queries and keys + position), text
 * cross-attention (queries + position, padded tokens masked), deformable cross-attention to the
 * image levels, relu FFN.
 */
function decoderLayer(
  g: GraphBuilder,
  x: Value,
  position: Value,
  referenceInput: Value,
  encoded: { vision: Value; text: Value },
  vision: VisionFeatures,
  text: TextFeatures,
  spec: GroundingDinoSpec,
  w: WeightStore,
): Value {
  const d = spec.dModel;
  const ln = (h: Value, name: string) => norm(g, h, readNorm(w, name, d), spec.eps, name);
  const qk = ops.add(g, x, position);
  const self = keyMaskedAttention(g, qk, qk, x, readAttention(w, 'self_attn.', d, 'self_attn.out_proj'), spec.decoderHeads);
  let h = ln(ops.add(g, x, self), 'self_attn_layer_norm');
  const q = ops.add(g, h, position);
  const toText = keyMaskedAttention(
    g,
    q,
    encoded.text,
    encoded.text,
    readAttention(w, 'encoder_attn_text.', d, 'encoder_attn_text.out_proj'),
    spec.decoderHeads,
    text.tokenMask,
  );
  h = ln(ops.add(g, h, toText), 'encoder_attn_text_layer_norm');
  const toImage = multiScaleDeformableAttention(g, w.scoped('encoder_attn.'), {
    query: ops.add(g, h, position),
    value: encoded.vision,
    valueMask: vision.mask,
    referencePoints: referenceInput,
    levelShapes: vision.levelShapes,
    numHeads: spec.decoderHeads,
    numPoints: spec.decoderPoints,
  });
  h = ln(ops.add(g, h, toImage), 'encoder_attn_layer_norm');
  return ln(ops.add(g, h, feedForward(g, h, w, d, spec.decoderFfn)), 'final_layer_norm');
}
