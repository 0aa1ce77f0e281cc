import type { DType } from '../tensor/dtype.js';

/** A dimension: a known size, or a symbolic name (e.g. 'batch') resolved by the runtime. */
export type Dim = number | string;

/** A typed value flowing through the graph under construction. */
export interface Value {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly Dim[];
}

export function formatShape(shape: readonly Dim[]): string {
  return `[${shape.join(', ')}]`;
}

export function knownSize(shape: readonly Dim[]): number | undefined {
  let n = 1;
  for (const d of shape) {
    if (typeof d !== 'number') return undefined;
    n *= d;
  }
  return n;
}
