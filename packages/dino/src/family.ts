import type { ModelFamily } from '@vitkit/core';
import { DinoModel } from './dino-model.js';
import { DINO_ARCHITECTURES } from './model.js';

export const dinoFamily: ModelFamily = {
  packageName: '@vitkit/dino',
  architectures: DINO_ARCHITECTURES,
  create: (files, options) => new DinoModel(files, options),
};
