import { VitkitError } from '../errors/vitkit-error.js';
import { allocate, type DType, type TypedArrayFor } from './dtype.js';
import { bfloat16ArrayToFloat32, float16ArrayToFloat32, float32ArrayToBfloat16, float32ArrayToFloat16 } from './half.js';

export type Shape = readonly number[];

export function shapeSize(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** A contiguous, row-major n-d array. Small on purpose: models run on onnxruntime, not here. */
export class Tensor<D extends DType = DType> {
  readonly dtype: D;
  readonly shape: readonly number[];
  readonly data: TypedArrayFor<D>;

  constructor(dtype: D, data: TypedArrayFor<D>, shape: Shape) {
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0) {
        throw new VitkitError(
          'TENSOR_SHAPE_MISMATCH',
          `Tensor shape [${shape.join(', ')}] has a dimension that is not a non-negative integer.`,
        );
      }
    }
    const expected = shapeSize(shape);
    if (data.length !== expected) {
      throw new VitkitError(
        'TENSOR_SHAPE_MISMATCH',
        `Tensor of shape [${shape.join(', ')}] needs ${expected} elements, but its data has ${data.length}.`,
      );
    }
    this.dtype = dtype;
    this.data = data;
    this.shape = [...shape];
  }

  static zeros<D extends DType>(dtype: D, shape: Shape): Tensor<D> {
    return new Tensor(dtype, allocate(dtype, shapeSize(shape)), shape);
  }

  static fromFloat32(data: Float32Array | readonly number[], shape: Shape): Tensor<'float32'> {
    return new Tensor('float32', data instanceof Float32Array ? data : Float32Array.from(data), shape);
  }

  get size(): number {
    return this.data.length;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** Same data, new shape (one dimension may be -1). */
  reshape(shape: Shape): Tensor<D> {
    const known = shape.filter((d) => d !== -1);
    const inferred = shape.length - known.length;
    if (inferred > 1) throw new VitkitError('TENSOR_SHAPE_MISMATCH', 'reshape: at most one dimension may be -1.');
    const resolved = inferred ? shape.map((d) => (d === -1 ? this.size / shapeSize(known) : d)) : shape;
    return new Tensor(this.dtype, this.data, resolved);
  }

  /** Values as float32, widening 16-bit floats and integers. */
  toFloat32(): Tensor<'float32'> {
    return new Tensor('float32', toFloat32Array(this), this.shape);
  }

  /** Slice along the first axis: rows [start, end). */
  sliceFirst(start: number, end: number): Tensor<D> {
    const inner = shapeSize(this.shape.slice(1));
    const data = this.data.subarray(start * inner, end * inner) as TypedArrayFor<D>;
    return new Tensor(this.dtype, data, [end - start, ...this.shape.slice(1)]);
  }
}

export function toFloat32Array(t: Tensor): Float32Array {
  switch (t.dtype) {
    case 'float32':
      return t.data as Float32Array;
    case 'float16':
      return float16ArrayToFloat32(t.data as Uint16Array);
    case 'bfloat16':
      return bfloat16ArrayToFloat32(t.data as Uint16Array);
    case 'int64': {
      const src = t.data as BigInt64Array;
      const out = new Float32Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = Number(src[i]);
      return out;
    }
    default:
      return Float32Array.from(t.data as ArrayLike<number>);
  }
}

export function castFloat32(t: Tensor<'float32'>, dtype: 'float16' | 'bfloat16' | 'float32'): Tensor {
  if (dtype === 'float32') return t;
  const bits = dtype === 'float16' ? float32ArrayToFloat16(t.data) : float32ArrayToBfloat16(t.data);
  return new Tensor(dtype, bits, t.shape);
}
