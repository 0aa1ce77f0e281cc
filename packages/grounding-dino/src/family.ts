import type { ModelFamily } from '@vitkit/core';
import { GroundingDino } from './grounding-dino-model.js';
import { GROUNDING_DINO_ARCHITECTURES } from './model/spec.js';
import { GROUNDING_DINO_DEFAULT_PROCESSOR } from './processor/image-processor.js';
import { groundingDinoStateDict } from './state-dict.js';

export const groundingDinoFamily: ModelFamily = {
  name: 'grounding-dino',
  packageName: '@vitkit/grounding-dino',
  architectures: GROUNDING_DINO_ARCHITECTURES,
  modelTypes: { 'grounding-dino': 'GroundingDinoForObjectDetection' },
  create: (files, options) => new GroundingDino(files, options),
  // A 3:4 photo at GroundingDinoImageProcessor's default shortest edge (800).
  defaultInputSize: () => [800, 1066],
  defaultProcessor: () => GROUNDING_DINO_DEFAULT_PROCESSOR,
  stateDictSpec: groundingDinoStateDict,
};
