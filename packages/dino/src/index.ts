export { DinoModel, type DinoLoadOptions } from './dino-model.js';
export { DINO_ARCHITECTURES, type DinoArchitecture } from './model.js';
export { dinoFamily } from './family.js';
