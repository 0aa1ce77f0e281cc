import { type GraphBuilder, ops, readVector, Tensor, type Value, type WeightStore } from '@vitkit/core/internal';
import { buildSwinBackbone, swinBackboneChannels } from '@vitkit/swin';
import { scalar, toBool, toFloat } from './onnx-ops.js';
import { imageSineEmbedding } from './sine-embedding.js';
import { BACKBONE_PREFIX, type GroundingDinoSpec } from './spec.js';

/** The multi-scale image features the encoder takes, flattened level after level. */
export interface VisionFeatures {
  /** Projected feature maps: [B, S, d_model], S = Σ h·w. */
  source: Value;
  /** Sine position embedding + level embedding: [B, S, d_model]. */
  position: Value;
  /** The pixel mask at each level, float 0/1: [B, S] (1 = real pixel). */
  mask: Value;
  /** [h, w] of each level, known when the graph is built. */
  levelShapes: [number, number][];
  /** Valid fraction of each level's width and height: [B, levels, 2] as (w, h). */
  validRatios: Value;
}

const GROUP_NORM_GROUPS = 32;
const GROUP_NORM_EPS = 1e-5;

/**
 * Swin backbone → per level a 1×1 conv + GroupNorm(32) to d_model; the extra levels are 3×3
 * stride-2 convs (the first on the last backbone map, the others on the previous level) + GroupNorm.
 * The pixel mask is resized to each level as transformers does (nearest, then `.bool()`), and gives
 * the sine position embedding and the valid ratios.
 */
export function visionFeatures(
  g: GraphBuilder,
  pixels: Value,
  pixelMask: Value,
  spec: GroundingDinoSpec,
  weights: WeightStore,
): VisionFeatures {
  const [, , height, width] = pixels.shape as number[];
  const maps = g.scope('backbone', () => buildSwinBackbone(g, pixels, spec.backbone, weights.scoped(BACKBONE_PREFIX)));
  const channels = swinBackboneChannels(spec.backbone);
  const d = spec.dModel;
  const projected: Value[] = [];
  for (let level = 0; level < spec.numFeatureLevels; level++) {
    const p = `model.input_proj_vision.${level}.`;
    projected.push(
      g.scope(`input_proj_vision.${level}`, () => {
        if (level < maps.length) return groupNorm(g, conv(g, maps[level], weights, `${p}0`, d, channels[level], 1), weights, `${p}1`, d);
        const input = level === maps.length ? maps[maps.length - 1] : projected[level - 1];
        const inChannels = level === maps.length ? channels[channels.length - 1] : d;
        return groupNorm(g, conv(g, input, weights, `${p}0`, d, inChannels, 3), weights, `${p}1`, d);
      }),
    );
  }
  const mask = toFloat(g, toBool(g, pixelMask)); // [B, H, W]
  const levelEmbed = weights.get('model.level_embed', [spec.numFeatureLevels, d]).toFloat32();
  const sources: Value[] = [];
  const positions: Value[] = [];
  const masks: Value[] = [];
  const ratios: Value[] = [];
  const levelShapes: [number, number][] = [];
  projected.forEach((map, level) =>
    g.scope(`level.${level}`, () => {
      const [, , h, w] = map.shape as number[];
      levelShapes.push([h, w]);
      const m = resizeMaskNearest(g, mask, height, width, h, w); // [B, h, w]
      const embed = g.constant(new Tensor('float32', levelEmbed.data.slice(level * d, (level + 1) * d), [d]), 'level_embed');
      positions.push(ops.add(g, imageSineEmbedding(g, m, d, spec.positionTemperature), embed));
      sources.push(ops.transpose(g, ops.reshape(g, map, [0, d, -1]), [0, 2, 1]));
      masks.push(ops.reshape(g, m, [0, -1]));
      // get_valid_ratio: valid rows counted down column 0, valid columns along row 0.
      const validH = ops.div(g, ops.reduceSum(g, ops.gather(g, m, 0, 2), [1], true), scalar(g, h, 'height'));
      const validW = ops.div(g, ops.reduceSum(g, ops.gather(g, m, 0, 1), [1], true), scalar(g, w, 'width'));
      ratios.push(ops.unsqueeze(g, ops.concat(g, [validW, validH], 1), [1])); // [B, 1, 2]
    }),
  );
  return {
    source: ops.concat(g, sources, 1),
    position: ops.concat(g, positions, 1),
    mask: ops.concat(g, masks, 1),
    levelShapes,
    validRatios: ops.concat(g, ratios, 1),
  };
}

function conv(g: GraphBuilder, x: Value, weights: WeightStore, name: string, out: number, inp: number, kernel: 1 | 3): Value {
  const weight = g.constant(weights.get(`${name}.weight`, [out, inp, kernel, kernel]).toFloat32(), 'conv.weight');
  const bias = g.constant(readVector(weights, `${name}.bias`, out).toFloat32(), 'conv.bias');
  return kernel === 1 ? ops.conv2d(g, x, weight, bias) : ops.conv2d(g, x, weight, bias, { strides: [2, 2], pads: [1, 1, 1, 1] });
}

/** nn.GroupNorm(32, C) over [B, C, h, w]: statistics per group of C/32 channels (biased variance), then a per-channel affine. */
function groupNorm(g: GraphBuilder, x: Value, weights: WeightStore, name: string, channels: number): Value {
  const [, , h, w] = x.shape as number[];
  const grouped = ops.reshape(g, x, [0, GROUP_NORM_GROUPS, -1]);
  const centred = ops.sub(g, grouped, ops.reduceMean(g, grouped, [2], true));
  const variance = ops.reduceMean(g, ops.mul(g, centred, centred), [2], true);
  const normed = ops.div(g, centred, ops.sqrt(g, ops.add(g, variance, scalar(g, GROUP_NORM_EPS, 'eps'))));
  const perChannel = (t: string) =>
    g.constant(readVector(weights, `${name}.${t}`, channels).toFloat32().reshape([channels, 1, 1]), `group_norm.${t}`);
  return ops.add(g, ops.mul(g, ops.reshape(g, normed, [0, channels, h, w]), perChannel('weight')), perChannel('bias'));
}

/**
 * `F.interpolate(mask[None].float(), size=(h, w))` (mode nearest, PyTorch's CPU rule: source index
 * `min(floor(i · (in / out)), in - 1)` with a float32 scale), as two build-time Gathers.
 */
function resizeMaskNearest(g: GraphBuilder, mask: Value, inH: number, inW: number, h: number, w: number): Value {
  return ops.gather(g, ops.gather(g, mask, nearestSourceIndices(inH, h), 1), nearestSourceIndices(inW, w), 2);
}

export function nearestSourceIndices(inSize: number, outSize: number): number[] {
  const scale = Math.fround(inSize / outSize);
  return Array.from({ length: outSize }, (_, i) => {
    if (inSize === outSize) return i;
    if (outSize === 2 * inSize) return i >> 1;
    return Math.min(Math.floor(Math.fround(i * scale)), inSize - 1);
  });
}
