import { type GraphBuilder, norm, ops, type RawConfig, readNorm, type Value, VitkitError, type WeightStore } from '@vitkit/core/internal';
import { embeddings, type Grid, patchMerging, readBlock, readSwinSpec, type SwinSpec, swinBlock, TORCH_LN_EPS } from './model.js';

/**
 * transformers' SwinBackbone, as detectors use it (Grounding DINO's `backbone_config`): the stages
 * run with `always_partition=True` and each stage's map is taken before its patch merging
 * (`output_hidden_states_before_downsampling`), then normed by `hidden_states_norms.stage{i}`.
 *
 * `out_indices` count from the stem: 0 is the embeddings' grid, i ≥ 1 is stage i.
 */
export interface SwinBackboneSpec extends SwinSpec {
  outIndices: number[];
}

/** The backbone's spec from a `backbone_config` and the weights scoped to the backbone (e.g. `model.backbone.conv_encoder.model.`). */
export function readSwinBackboneSpec(backboneConfig: RawConfig, weights: WeightStore): SwinBackboneSpec {
  const spec = readSwinSpec({ ...backboneConfig, architectures: ['SwinModel'] }, weights);
  const stages = spec.depths.length;
  const raw = backboneConfig.out_indices;
  const outIndices = Array.isArray(raw) ? (raw as number[]) : [stages];
  if (outIndices.length === 0 || outIndices.some((i) => !Number.isInteger(i) || i < 0 || i > stages)) {
    throw new VitkitError('CONFIG_INVALID', `backbone_config: out_indices ${JSON.stringify(raw)} must name stages 0..${stages}.`);
  }
  return { ...spec, outIndices };
}

/** Channels of each feature map the backbone returns (embed_dim · 2^(i-1) for stage i, embed_dim for the stem). */
export function swinBackboneChannels(spec: SwinBackboneSpec): number[] {
  return spec.outIndices.map((i) => spec.embedDim * 2 ** Math.max(0, i - 1));
}

/** The feature maps for `out_indices`, each [B, C, h, w] after its `hidden_states_norms` layer norm. */
export function buildSwinBackbone(g: GraphBuilder, pixels: Value, spec: SwinBackboneSpec, w: WeightStore): Value[] {
  let grid = g.scope('embeddings', () => embeddings(g, spec, w, pixels));
  // Index 0 (the stem) is the embeddings' grid; stage s+1 is stage s's output before its patch merging.
  const stageMaps: Grid[] = [grid];
  spec.depths.forEach((depth, s) => {
    const dim = spec.embedDim * 2 ** s;
    for (let b = 0; b < depth; b++) {
      const key = `encoder.layers.${s}.blocks.${b}`;
      const out = g.scope(key, () =>
        swinBlock(g, grid, readBlock(w, `${key}.`, dim, spec.mlpRatio), {
          heads: spec.heads[s],
          window: spec.window,
          shifted: b % 2 === 1,
          eps: spec.eps,
          alwaysPartition: true,
        }),
      );
      grid = { ...grid, x: out.x };
    }
    stageMaps.push(grid);
    if (s < spec.depths.length - 1 && spec.outIndices.some((i) => i > s + 1)) {
      grid = g.scope(`encoder.layers.${s}.downsample`, () => patchMerging(g, grid, w, `encoder.layers.${s}.downsample.`, dim));
    }
  });
  const stageNames = ['stem', ...spec.depths.map((_, s) => `stage${s + 1}`)];
  return spec.outIndices.map((i) => {
    const map = stageMaps[i];
    const C = map.x.shape[2] as number;
    const name = `hidden_states_norms.${stageNames[i]}`;
    // SwinBackbone's norms are nn.LayerNorm(C) with the default eps.
    const normed = norm(g, map.x, readNorm(w, name, C), TORCH_LN_EPS, name);
    return ops.transpose(g, ops.reshape(g, normed, [0, map.height, map.width, C]), [0, 3, 1, 2]);
  });
}
