import type { ModelFamily } from '@vitkit/core';
import { Deit } from './deit-model.js';
import { DEIT_ARCHITECTURES } from './model.js';

export const deitFamily: ModelFamily = {
  packageName: '@vitkit/deit',
  architectures: DEIT_ARCHITECTURES,
  create: (files, options) => new Deit(files, options),
};
