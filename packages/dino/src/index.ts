export { type DinoLoadOptions, DinoModel } from './dino-model.js';
export { dinoFamily } from './family.js';
export { DINO_ARCHITECTURES, type DinoArchitecture } from './model.js';
