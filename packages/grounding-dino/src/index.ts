export { groundingDinoFamily } from './family.js';
export { type GroundingDinoLoadOptions, GroundingDinoModel } from './grounding-dino-model.js';
export { GROUNDING_DINO_ARCHITECTURES, type GroundingDinoArchitecture } from './model/spec.js';
