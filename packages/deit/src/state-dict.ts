import { ConfigReader, numLabels, type RawConfig, StateDictBuilder, type StateDictSpec, VitkitError } from '@vitkit/core/internal';
import { DEIT_MODEL_TYPES } from './model.js';

/** The state dict of a DeiT config, as transformers' DeiT modules create it. */
export function deitStateDict(raw: RawConfig): StateDictSpec {
  const c = new ConfigReader(raw);
  const arch = c.optional<string[]>('architectures')?.[0] ?? DEIT_MODEL_TYPES[c.string('model_type')];
  const s = new StateDictBuilder();
  const h = c.int('hidden_size');
  const p = arch === 'DeiTModel' ? '' : 'deit.';
  if (!['DeiTModel', 'DeiTForImageClassification', 'DeiTForImageClassificationWithTeacher'].includes(arch ?? '')) {
    throw new VitkitError('MODEL_TYPE_UNSUPPORTED', `@vitkit/deit has no state dict for "${arch}".`);
  }
  const patches = s.patchEmbedding(c, p, h);
  s.tensor(`${p}embeddings.cls_token`, [1, 1, h], 'normal');
  s.tensor(`${p}embeddings.distillation_token`, [1, 1, h], 'normal');
  s.tensor(`${p}embeddings.position_embeddings`, [1, patches + 2, h], 'normal');
  s.vitEncoderLayers(c, p);
  s.layerNorm(`${p}layernorm`, h);
  if (arch === 'DeiTModel') s.linear('pooler.dense', h, h);
  else if (arch === 'DeiTForImageClassification') s.linear('classifier', numLabels(raw), h);
  else {
    s.linear('cls_classifier', numLabels(raw), h);
    s.linear('distillation_classifier', numLabels(raw), h);
  }
  return s.spec;
}
