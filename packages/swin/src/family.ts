import type { ModelFamily } from '@vitkit/core';
import { SWIN_ARCHITECTURES } from './model.js';
import { Swin } from './swin-model.js';

export const swinFamily: ModelFamily = {
  packageName: '@vitkit/swin',
  architectures: SWIN_ARCHITECTURES,
  create: (files, options) => new Swin(files, options),
};
