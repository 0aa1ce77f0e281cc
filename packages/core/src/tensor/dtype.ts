/** Element types a Tensor can hold, named as onnxruntime names them. */
export type DType = 'float32' | 'float16' | 'bfloat16' | 'float64' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

export interface DTypeArrays {
  float32: Float32Array;
  float64: Float64Array;
  // 16-bit floats are kept as raw bits: Float16Array is not in every runtime we support.
  float16: Uint16Array;
  bfloat16: Uint16Array;
  int64: BigInt64Array;
  int32: Int32Array;
  int16: Int16Array;
  int8: Int8Array;
  uint8: Uint8Array;
  bool: Uint8Array;
}

export type TypedArrayFor<D extends DType> = DTypeArrays[D];
export type AnyTypedArray = DTypeArrays[DType];

export const BYTES_PER_ELEMENT: Record<DType, number> = {
  float32: 4,
  float64: 8,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};

const CONSTRUCTORS = {
  float32: Float32Array,
  float64: Float64Array,
  float16: Uint16Array,
  bfloat16: Uint16Array,
  int64: BigInt64Array,
  int32: Int32Array,
  int16: Int16Array,
  int8: Int8Array,
  uint8: Uint8Array,
  bool: Uint8Array,
} as const;

export function allocate<D extends DType>(dtype: D, length: number): TypedArrayFor<D> {
  return new CONSTRUCTORS[dtype](length) as TypedArrayFor<D>;
}

/** A typed view over bytes; copies only when `byteOffset` is not aligned for the element size. */
export function viewAs<D extends DType>(dtype: D, bytes: Uint8Array): TypedArrayFor<D> {
  const size = BYTES_PER_ELEMENT[dtype];
  const length = bytes.byteLength / size;
  if (bytes.byteOffset % size !== 0) {
    const copy = new Uint8Array(bytes);
    return new CONSTRUCTORS[dtype](copy.buffer, 0, length) as TypedArrayFor<D>;
  }
  return new CONSTRUCTORS[dtype](bytes.buffer as ArrayBuffer, bytes.byteOffset, length) as TypedArrayFor<D>;
}
