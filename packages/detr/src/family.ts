import type { ModelFamily } from '@vitkit/core';
import { Detr } from './detr-model.js';
import { DETR_ARCHITECTURES } from './model/detr-graph.js';

export const detrFamily: ModelFamily = {
  packageName: '@vitkit/detr',
  architectures: DETR_ARCHITECTURES,
  create: (files, options) => new Detr(files, options),
};
