import type { ModelFamily } from '@vitkit/core';
import { processorInputSize } from '@vitkit/core/internal';
import { DEIT_DEFAULT_PROCESSOR, Deit } from './deit-model.js';
import { DEIT_ARCHITECTURES, DEIT_MODEL_TYPES } from './model.js';
import { deitStateDict } from './state-dict.js';

export const deitFamily: ModelFamily = {
  name: 'deit',
  packageName: '@vitkit/deit',
  architectures: DEIT_ARCHITECTURES,
  modelTypes: DEIT_MODEL_TYPES,
  create: (files, options) => new Deit(files, options),
  defaultInputSize: processorInputSize,
  defaultProcessor: () => DEIT_DEFAULT_PROCESSOR,
  stateDictSpec: deitStateDict,
};
