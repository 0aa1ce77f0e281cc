// Building blocks for family packages. Not semver-stable for end users.
export * from './index.js';
export { WeightStore } from './weights/weight-store.js';
export { ConfigReader, readId2Label, type RawConfig } from './config/model-config.js';
export { shapeSize, toFloat32Array, castFloat32 } from './tensor/tensor.js';
export * from './tensor/half.js';
