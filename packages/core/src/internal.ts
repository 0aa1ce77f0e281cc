// Building blocks for family packages. Not semver-stable for end users.
export * from './index.js';
export { WeightStore } from './weights/weight-store.js';
export { ConfigReader, readId2Label, type RawConfig } from './config/model-config.js';
export { shapeSize, toFloat32Array, castFloat32 } from './tensor/tensor.js';
export * from './tensor/half.js';
export { GraphBuilder, float, floats, MS_DOMAIN, type GraphBuilderOptions } from './graph/graph-builder.js';
export type { Value, Dim } from './graph/value.js';
export * as ops from './graph/ops.js';
export * from './graph/blocks.js';
export { attention, type AttentionArgs, type AttentionResult, type AttentionKernelName } from './attention/attention.js';
export { defaultAttentionKernel } from './runtime/device.js';
export { readEncoderLayer } from './graph/hf-encoder-layer.js';
export { bicubicResize, interpolatePositionEmbeddings, type PositionInterpolation } from './tensor/interpolate.js';
export type { GraphRequest } from './model/vision-model.js';
