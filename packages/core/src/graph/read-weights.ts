import { VitkitError } from '../errors/vitkit-error.js';
import type { Tensor } from '../tensor/tensor.js';
import type { WeightStore } from '../weights/weight-store.js';
import type { LinearWeights, NormWeights } from './blocks.js';

// The one way builders read layers from a checkpoint: each reader checks the shapes the layer
// implies, so a missing or misshapen tensor fails while the graph is built, naming the tensor,
// instead of surfacing as onnxruntime refusing the graph.

export interface LinearShape {
  /** Expected input features (the weight's second dim), when the caller knows it. */
  inFeatures?: number;
  /** Expected output features (the weight's first dim). */
  outFeatures?: number;
  /** 'optional' (default): read the bias when the checkpoint has one; 'required'; or 'none' (the layer has none). */
  bias?: 'optional' | 'required' | 'none';
}

function shapeMismatch(w: WeightStore, name: string, actual: readonly number[], expected: string): VitkitError {
  return new VitkitError(
    'WEIGHTS_SHAPE_MISMATCH',
    `${w.source}: tensor "${w.fullKey(name)}" has shape [${actual.join(', ')}] but this layer needs ${expected}.`,
  );
}

/** `nn.Linear` at `name`: weight [out, in] (+ bias [out]). */
export function readLinear(w: WeightStore, name: string, o: LinearShape = {}): LinearWeights {
  const weightName = `${name}.weight`;
  const shape = w.shapeOf(weightName);
  const [out, inp] = shape;
  if (
    shape.length !== 2 ||
    (o.outFeatures !== undefined && out !== o.outFeatures) ||
    (o.inFeatures !== undefined && inp !== o.inFeatures)
  ) {
    throw shapeMismatch(w, weightName, shape, `[${o.outFeatures ?? 'out'}, ${o.inFeatures ?? 'in'}]`);
  }
  const biasMode = o.bias ?? 'optional';
  const biasName = `${name}.bias`;
  const withBias = biasMode === 'required' || (biasMode === 'optional' && w.has(biasName));
  return { weight: w.get(weightName), bias: withBias ? readVector(w, biasName, out) : undefined };
}

/** `nn.LayerNorm(dim)` at `name`: weight and bias [dim]. */
export function readNorm(w: WeightStore, name: string, dim?: number): NormWeights {
  const weight = readVector(w, `${name}.weight`, dim);
  return { weight, bias: readVector(w, `${name}.bias`, weight.shape[0]) };
}

/** A 1-D tensor (bias, norm scale, layer-scale γ), of `length` when given. */
export function readVector(w: WeightStore, name: string, length?: number): Tensor {
  const shape = w.shapeOf(name);
  if (shape.length !== 1 || (length !== undefined && shape[0] !== length)) throw shapeMismatch(w, name, shape, `[${length ?? 'n'}]`);
  return w.get(name);
}
