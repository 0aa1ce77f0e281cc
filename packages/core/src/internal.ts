// Building blocks for family packages. Not semver-stable for end users.

export {
  type AttentionArgs,
  type AttentionKernelName,
  type AttentionResult,
  attention,
  type QkvBias,
  type RotateQueryKey,
} from './attention/attention.js';
export {
  type DeformableSamplingKernelName,
  type MultiScaleDeformableAttentionArgs,
  multiScaleDeformableAttention,
} from './attention/deformable-attention.js';
export { ConfigReader, type RawConfig, readId2Label } from './config/model-config.js';
export * from './graph/blocks.js';
export { type ExternalDataLayout, layoutExternalData } from './graph/external-data.js';
export { GraphBuilder, type GraphBuilderOptions } from './graph/graph-builder.js';
export { encodeModel, type GraphParts } from './graph/graph-parts.js';
export { type EncoderLayerLayout, readEncoderLayer } from './graph/hf-encoder-layer.js';
export { onnx } from './graph/onnx-proto.js';
export * as ops from './graph/ops.js';
export { type LinearShape, readLinear, readNorm, readVector } from './graph/read-weights.js';
export { type SerializeOptions, serializeGraph, servedGraphParts } from './graph/serialize-graph.js';
export type { Dim, Value } from './graph/value.js';
export * from './index.js';
export { processorInputSize } from './model/model-family.js';
export { numLabels, StateDictBuilder } from './model/state-dict.js';
export type { GraphOutputs, GraphRequest } from './model/vision-model.js';
export { defaultAttentionKernel, defaultDeformableSamplingKernel } from './runtime/device.js';
export * from './tensor/half.js';
export { bicubicResize, interpolatePositionEmbeddings, type PositionInterpolation } from './tensor/interpolate.js';
export { cosineSimilarity } from './tensor/similarity.js';
export { castFloat32, shapeSize, toFloat32Array } from './tensor/tensor.js';
export { WeightStore } from './weights/weight-store.js';
