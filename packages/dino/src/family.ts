import type { ModelFamily } from '@vitkit/core';
import { processorInputSize } from '@vitkit/core/internal';
import { DinoModel, dinoDefaultProcessor, flavourOfConfig } from './dino-model.js';
import { DINO_ARCHITECTURES, DINO_MODEL_TYPES } from './model.js';
import { dinoStateDict } from './state-dict.js';

export const dinoFamily: ModelFamily = {
  name: 'dino',
  packageName: '@vitkit/dino',
  architectures: DINO_ARCHITECTURES,
  modelTypes: DINO_MODEL_TYPES,
  create: (files, options) => new DinoModel(files, options),
  defaultInputSize: processorInputSize,
  defaultProcessor: (config) => dinoDefaultProcessor(flavourOfConfig(config)),
  stateDictSpec: dinoStateDict,
};
