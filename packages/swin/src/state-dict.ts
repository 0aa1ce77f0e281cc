import { ConfigReader, numLabels, type RawConfig, StateDictBuilder, type StateDictSpec, Tensor, VitkitError } from '@vitkit/core/internal';
import { SWIN_ARCHITECTURES, SWIN_MODEL_TYPES, type SwinArchitecture } from './model.js';
import { relativePositionIndex } from './windows.js';

/**
 * The state dict of a Swin or Swin V2 config: patch embedding + norm, stages of blocks (V1: a
 * relative-position table; V2: logit_scale and the position-bias MLP, no key bias, no saved buffers),
 * patch merging.
 */
export function swinStateDict(raw: RawConfig): StateDictSpec {
  const c = new ConfigReader(raw);
  const arch = c.optional<string[]>('architectures')?.[0] ?? SWIN_MODEL_TYPES[c.string('model_type')];
  if (!SWIN_ARCHITECTURES.includes(arch as SwinArchitecture)) {
    throw new VitkitError('MODEL_TYPE_UNSUPPORTED', `@vitkit/swin has no state dict for "${arch}".`);
  }
  const v2 = arch.startsWith('Swinv2');
  const classifier = arch.endsWith('ForImageClassification');
  const p = classifier ? (v2 ? 'swinv2.' : 'swin.') : '';
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
      if (v2) {
        s.tensor(`${l}attention.self.logit_scale`, [heads[st], 1, 1], 'one');
        s.linear(`${l}attention.self.continuous_position_bias_mlp.0`, 512, 2);
        s.linear(`${l}attention.self.continuous_position_bias_mlp.2`, heads[st], 512, false);
      } else {
        s.tensor(`${l}attention.self.relative_position_bias_table`, [(2 * win - 1) ** 2, heads[st]], 'normal');
        s.buffer(`${l}attention.self.relative_position_index`, relativeIndex);
      }
      for (const n of ['query', 'key', 'value']) s.linear(`${l}attention.self.${n}`, dim, dim, qkvBias && !(v2 && n === 'key'));
      s.linear(`${l}attention.output.dense`, dim, dim);
      s.layerNorm(`${l}layernorm_after`, dim);
      s.linear(`${l}intermediate.dense`, Math.trunc(dim * ratio), dim);
      s.linear(`${l}output.dense`, dim, Math.trunc(dim * ratio));
    }
    if (st < depths.length - 1) {
      s.linear(`${p}encoder.layers.${st}.downsample.reduction`, 2 * dim, 4 * dim, false);
      s.layerNorm(`${p}encoder.layers.${st}.downsample.norm`, v2 ? 2 * dim : 4 * dim);
    }
  }
  const last = embed * 2 ** (depths.length - 1);
  s.layerNorm(`${p}layernorm`, last);
  // SwinModel's pooler is an AdaptiveAvgPool: no weights.
  if (classifier) s.linear('classifier', numLabels(raw), last);
  return s.spec;
}

/**
 * SwinBackbone's state dict (a detector's `backbone_config`): SwinModel's without the final
 * layernorm, plus a `hidden_states_norms.<stage>` layer norm per `out_indices` entry.
 */
export function swinBackboneStateDict(backboneConfig: RawConfig): StateDictSpec {
  const spec = swinStateDict({ ...backboneConfig, architectures: ['SwinModel'] });
  spec.delete('layernorm.weight');
  spec.delete('layernorm.bias');
  const c = new ConfigReader(backboneConfig, 'backbone_config');
  const embed = c.int('embed_dim');
  const stages = c.intArray('depths').length;
  const s = new StateDictBuilder();
  for (const i of c.intArray('out_indices', [stages])) {
    s.layerNorm(`hidden_states_norms.${i === 0 ? 'stem' : `stage${i}`}`, embed * 2 ** Math.max(0, i - 1));
  }
  for (const [k, v] of s.spec) spec.set(k, v);
  return spec;
}
