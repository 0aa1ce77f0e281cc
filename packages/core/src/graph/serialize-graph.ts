import { fuseSkipLayerNorm } from './fusion/skip-layer-norm.js';
import type { GraphBuilder } from './graph-builder.js';
import { encodeModel, type GraphParts } from './graph-parts.js';
import { applyWeightPrecision, type PrecisionPassOptions, type WeightPrecision } from './precision/weight-precision.js';

export interface SerializeOptions extends PrecisionPassOptions {
  /** Default 'fp32' (no rewrite). */
  weightPrecision?: WeightPrecision;
  /**
   * Residual Add (+ bias) + LayerNorm → com.microsoft SkipLayerNormalization (see `fusion/`). Default
   * false: on onnxruntime-node 1.30's cpu provider the fused kernel ran slower than Add +
   * LayerNormalization (ViT-S/14: 18 vs ~9 ms a run).
   */
  fusions?: boolean;
}

/**
 * The builder's graph through the passes a model is served with, then ONNX bytes: fusions first (they
 * match float32 patterns), then the precision rewrite. The builder itself only records.
 */
export function serializeGraph(g: GraphBuilder, options: SerializeOptions = {}): Uint8Array {
  return encodeModel(servedGraphParts(g, options));
}

/**
 * The same passes as `serializeGraph`, stopping before encoding, so a session can choose inline bytes
 * or external data (a model over 2 GiB cannot be one protobuf).
 */
export function servedGraphParts(g: GraphBuilder, options: SerializeOptions = {}): GraphParts {
  let parts = g.parts();
  if (options.fusions) parts = fuseSkipLayerNorm(parts);
  return applyWeightPrecision(parts, options.weightPrecision ?? 'fp32', options);
}
