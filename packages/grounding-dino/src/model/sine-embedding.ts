import { type GraphBuilder, ops, Tensor, type Value } from '@vitkit/core/internal';
import { scalar } from './onnx-ops.js';

// Grounding DINO's three sine embeddings. Each feature i of a coordinate c is c·2π / T^(2⌊i/2⌋/F),
// through sin for even i and cos for odd i (interleaved, as torch.stack(sin[0::2], cos[1::2]).flatten):
// - the image's (GroundingDinoSinePositionEmbedding): c = running count of valid pixels / the last
//   count (+1e-6), y features then x, T = `positional_embedding_temperature`;
// - the decoder queries' and the text tokens' (get_sine_pos_embed): c = a box coordinate or a text
//   position id, T = 10000; boxes are embedded [y, x, w, h] (exchange_xy).

const SCALE = 2 * Math.PI;
const EPS = 1e-6;
export const QUERY_TEMPERATURE = 10000;

/** `temperature ** (2 * floor(i / 2) / F)` for i < F, in float32 as torch computes it. */
export function sineFrequencies(features: number, temperature: number): Float32Array {
  const dimT = new Float32Array(features);
  for (let i = 0; i < features; i++) dimT[i] = temperature ** ((2 * Math.floor(i / 2)) / features);
  return dimT;
}

/** `scaled` [..., 1] (a coordinate already times 2π) → [..., F] of interleaved sin / cos over the frequencies. */
function sinCos(g: GraphBuilder, scaled: Value, features: number, temperature: number): Value {
  const dimT = g.constant(new Tensor('float32', sineFrequencies(features, temperature), [features]), 'dim_t');
  const phase = ops.div(g, scaled, dimT);
  const even = new Float32Array(features);
  for (let k = 0; k < features; k += 2) even[k] = 1;
  const odd = even.map((v) => 1 - v);
  return ops.add(
    g,
    ops.mul(g, ops.sin(g, phase), g.constant(new Tensor('float32', even, [features]), 'sin_features')),
    ops.mul(g, ops.cos(g, phase), g.constant(new Tensor('float32', odd, [features]), 'cos_features')),
  );
}

/**
 * The image embedding for a mask [B, h, w] (float 0/1): [B, h·w, dModel], y features then x. The
 * running counts are CumSums (exact for 0/1 counts).
 */
export function imageSineEmbedding(g: GraphBuilder, mask: Value, dModel: number, temperature: number): Value {
  const features = dModel / 2;
  const yEmbed = ops.cumSum(g, mask, 1);
  const xEmbed = ops.cumSum(g, mask, 2);
  const normalise = (e: Value, last: Value) =>
    ops.mul(g, ops.div(g, e, ops.add(g, last, scalar(g, EPS, 'eps'))), scalar(g, SCALE, 'two_pi'));
  const y = normalise(yEmbed, ops.gather(g, yEmbed, [-1], 1)); // / y_embed[:, -1:, :]
  const x = normalise(xEmbed, ops.gather(g, xEmbed, [-1], 2)); // / x_embed[:, :, -1:]
  const perFeature = (e: Value) => sinCos(g, ops.unsqueeze(g, e, [3]), features, temperature);
  return ops.reshape(g, ops.concat(g, [perFeature(y), perFeature(x)], 3), [0, -1, dModel]);
}

/**
 * `get_sine_pos_embed(coords, numFeatures, 10000, exchangeXY)`: coords [B, N, k] → [B, N, k·numFeatures],
 * each coordinate embedded on its own, the first two swapped when `exchangeXY`.
 */
export function coordinateSineEmbedding(g: GraphBuilder, coords: Value, numFeatures: number, exchangeXY: boolean): Value {
  const k = coords.shape[2] as number;
  const parts: Value[] = [];
  for (let i = 0; i < k; i++) {
    const c = ops.slice(g, coords, [i], [i + 1], [2]); // [B, N, 1]
    parts.push(sinCos(g, ops.mul(g, c, scalar(g, SCALE, 'two_pi')), numFeatures, QUERY_TEMPERATURE));
  }
  if (exchangeXY && k >= 2) [parts[0], parts[1]] = [parts[1], parts[0]];
  return parts.length === 1 ? parts[0] : ops.concat(g, parts, 2);
}
