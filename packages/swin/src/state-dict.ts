import { ConfigReader, numLabels, type RawConfig, StateDictBuilder, type StateDictSpec, Tensor, VitkitError } from '@vitkit/core/internal';
import { SWIN_MODEL_TYPES } from './model.js';
import { relativePositionIndex } from './windows.js';

/** The state dict of a Swin config: patch embedding + norm, stages of blocks with relative-position tables, patch merging. */
export function swinStateDict(raw: RawConfig): StateDictSpec {
  const c = new ConfigReader(raw);
  const arch = c.optional<string[]>('architectures')?.[0] ?? SWIN_MODEL_TYPES[c.string('model_type')];
  if (arch !== 'SwinModel' && arch !== 'SwinForImageClassification') {
    throw new VitkitError('MODEL_TYPE_UNSUPPORTED', `@vitkit/swin has no state dict for "${arch}".`);
  }
  const p = arch === 'SwinModel' ? '' : 'swin.';
  const s = new StateDictBuilder();
  const embed = c.int('embed_dim');
  const depths = c.intArray('depths');
  const heads = c.intArray('num_heads');
  const win = c.int('window_size');
  const ratio = c.number('mlp_ratio', 4);
  const qkvBias = c.optional<boolean>('qkv_bias') ?? true;
  const patches = s.patchEmbedding(c, p, embed);
  const relativeIndex = new Tensor('int64', BigInt64Array.from(relativePositionIndex(win), BigInt), [win * win, win * win]);
  if (c.optional<boolean>('use_absolute_embeddings')) s.tensor(`${p}embeddings.position_embeddings`, [1, patches + 1, embed], 'normal');
  s.layerNorm(`${p}embeddings.norm`, embed);
  for (let st = 0; st < depths.length; st++) {
    const dim = embed * 2 ** st;
    for (let b = 0; b < depths[st]; b++) {
      const l = `${p}encoder.layers.${st}.blocks.${b}.`;
      s.layerNorm(`${l}layernorm_before`, dim);
      s.tensor(`${l}attention.self.relative_position_bias_table`, [(2 * win - 1) ** 2, heads[st]], 'normal');
      s.buffer(`${l}attention.self.relative_position_index`, relativeIndex);
      for (const n of ['query', 'key', 'value']) s.linear(`${l}attention.self.${n}`, dim, dim, qkvBias);
      s.linear(`${l}attention.output.dense`, dim, dim);
      s.layerNorm(`${l}layernorm_after`, dim);
      s.linear(`${l}intermediate.dense`, Math.trunc(dim * ratio), dim);
      s.linear(`${l}output.dense`, dim, Math.trunc(dim * ratio));
    }
    if (st < depths.length - 1) {
      s.linear(`${p}encoder.layers.${st}.downsample.reduction`, 2 * dim, 4 * dim, false);
      s.layerNorm(`${p}encoder.layers.${st}.downsample.norm`, 4 * dim);
    }
  }
  const last = embed * 2 ** (depths.length - 1);
  s.layerNorm(`${p}layernorm`, last);
  // SwinModel's pooler is an AdaptiveAvgPool: no weights.
  if (arch === 'SwinForImageClassification') s.linear('classifier', numLabels(raw), last);
  return s.spec;
}
