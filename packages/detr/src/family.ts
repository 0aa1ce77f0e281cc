import type { ModelFamily } from '@vitkit/core';
import { DETR_DEFAULT_PROCESSOR, Detr } from './detr-model.js';
import { DETR_ARCHITECTURES } from './model/detr-graph.js';
import { detrStateDict } from './state-dict.js';

export const detrFamily: ModelFamily = {
  name: 'detr',
  packageName: '@vitkit/detr',
  architectures: DETR_ARCHITECTURES,
  modelTypes: { detr: 'DetrModel' },
  create: (files, options) => new Detr(files, options),
  // A 3:4 photo at DetrImageProcessor's default shortest edge (800).
  defaultInputSize: () => [800, 1066],
  defaultProcessor: () => DETR_DEFAULT_PROCESSOR,
  stateDictSpec: detrStateDict,
};
