import type { GraphBuilder } from '../graph/graph-builder.js';
import { add, cast, mul, reshape } from '../graph/ops.js';
import type { Value } from '../graph/value.js';
import { Tensor } from '../tensor/tensor.js';

/** Large negative used for masked keys: finite, so a fully padded row stays NaN-free, as in HF. */
const MASKED_SCORE = -3.4028234663852886e38;

/** [B, L] keep-mask (1 = attend) → additive [B, 1, 1, L] bias of 0 or MASKED_SCORE. */
export function keyPaddingBias(g: GraphBuilder, mask: Value): Value {
  const asFloat = mask.dtype === 'float32' ? mask : cast(g, mask, 'float32', 1);
  // (mask - 1) * big: 0 where kept, -big where padded.
  const minusOne = g.constant(Tensor.fromFloat32([-1], []), 'minus_one');
  const big = g.constant(Tensor.fromFloat32([-MASKED_SCORE], []), 'mask_scale');
  const bias = mul(g, add(g, asFloat, minusOne), big);
  return reshape(g, bias, [0, 1, 1, -1]);
}
