import type { ModelFamily } from '@vitkit/core';
import { processorInputSize } from '@vitkit/core/internal';
import { SWIN_ARCHITECTURES, SWIN_MODEL_TYPES } from './model.js';
import { swinStateDict } from './state-dict.js';
import { SWIN_DEFAULT_PROCESSOR, Swin } from './swin-model.js';

export const swinFamily: ModelFamily = {
  name: 'swin',
  packageName: '@vitkit/swin',
  architectures: SWIN_ARCHITECTURES,
  modelTypes: SWIN_MODEL_TYPES,
  create: (files, options) => new Swin(files, options),
  defaultInputSize: processorInputSize,
  defaultProcessor: () => SWIN_DEFAULT_PROCESSOR,
  stateDictSpec: swinStateDict,
};
