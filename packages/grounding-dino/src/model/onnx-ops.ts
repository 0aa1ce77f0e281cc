import { type Dim, type GraphBuilder, ops, Tensor, type Value, VitkitError } from '@vitkit/core/internal';

// Typed helpers for the ONNX ops this model needs and core's ops.ts has no helper for yet
// (comparisons, logic, TopK, GatherElements, …). Each works out its output shape like ops.ts does.

/** Numpy broadcasting of two shapes; a symbolic dim wins over 1, and two symbols are taken as equal. */
function broadcastShape(op: string, a: readonly Dim[], b: readonly Dim[]): Dim[] {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (typeof da === 'number' && typeof db === 'number' && da !== db && da !== 1 && db !== 1) {
      throw new VitkitError('GRAPH_SHAPE_MISMATCH', `${op}: cannot broadcast [${a.join(', ')}] with [${b.join(', ')}].`);
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

function compare(op: 'Less' | 'Greater' | 'And') {
  return (g: GraphBuilder, a: Value, b: Value): Value =>
    g.node(op, [a, b], {}, [{ dtype: 'bool', shape: broadcastShape(op, a.shape, b.shape) }])[0];
}
export const less = compare('Less');
export const greater = compare('Greater');
export const and = compare('And');

export const not = (g: GraphBuilder, x: Value): Value => g.node('Not', [x], {}, [{ dtype: 'bool', shape: x.shape }])[0];

/** a ∨ b as ¬(¬a ∧ ¬b): WebGPU has And and Not but no Or kernel (an Or node would run on the CPU). */
export const or = (g: GraphBuilder, a: Value, b: Value): Value => not(g, and(g, not(g, a), not(g, b)));

const ONNX_TYPE = { float32: 1, int32: 6, int64: 7, bool: 9 } as const;
export const toFloat = (g: GraphBuilder, x: Value): Value => (x.dtype === 'float32' ? x : ops.cast(g, x, 'float32', ONNX_TYPE.float32));
export const toInt32 = (g: GraphBuilder, x: Value): Value => (x.dtype === 'int32' ? x : ops.cast(g, x, 'int32', ONNX_TYPE.int32));
export const toBool = (g: GraphBuilder, x: Value): Value => (x.dtype === 'bool' ? x : ops.cast(g, x, 'bool', ONNX_TYPE.bool));

export const log = (g: GraphBuilder, x: Value): Value => g.node('Log', [x], {}, [{ dtype: x.dtype, shape: x.shape }])[0];

export const scalar = (g: GraphBuilder, v: number, name = 'scalar'): Value => g.constant(Tensor.fromFloat32([v], []), name);

/** Clip to [min, max] (float32 bounds). */
export function clip(g: GraphBuilder, x: Value, min: number, max: number): Value {
  return g.node('Clip', [x, scalar(g, min, 'clip_min'), scalar(g, max, 'clip_max')], {}, [{ dtype: x.dtype, shape: x.shape }])[0];
}

function reduceOp(op: 'ReduceMax' | 'ReduceMin') {
  /** Over `axes`, or over every axis when `axes` is undefined (a scalar kept at the input's rank when keepdims). */
  return (g: GraphBuilder, x: Value, axes: readonly number[] | undefined, keepdims: boolean): Value => {
    const rank = x.shape.length;
    const norm = (axes ?? x.shape.map((_, i) => i)).map((a) => (a < 0 ? a + rank : a));
    const shape = keepdims ? x.shape.map((d, i) => (norm.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !norm.includes(i));
    const inputs = axes ? [x, g.constant(new Tensor('int64', BigInt64Array.from(axes.map(BigInt)), [axes.length]), 'axes')] : [x];
    return g.node(op, inputs, { keepdims: keepdims ? 1 : 0 }, [{ dtype: x.dtype, shape }])[0];
  };
}
export const reduceMax = reduceOp('ReduceMax');
export const reduceMin = reduceOp('ReduceMin');

/** Exclusive running sum along `axis` (`cumsum - x`, exactly, for the 0/1 counts it is used on). */
export function exclusiveCumSum(g: GraphBuilder, x: Value, axis: number): Value {
  const ax = g.constant(new Tensor('int64', BigInt64Array.of(BigInt(axis)), []), 'axis');
  return g.node('CumSum', [x, ax], { exclusive: 1 }, [{ dtype: x.dtype, shape: x.shape }])[0];
}

/** The k largest along the last axis, sorted, ties to the lower index (ONNX TopK): values and int64 indices. */
export function topK(g: GraphBuilder, x: Value, k: number): { values: Value; indices: Value } {
  const shape = [...x.shape.slice(0, -1), k];
  const kConst = g.constant(new Tensor('int64', BigInt64Array.of(BigInt(k)), [1]), 'k');
  const [values, indices] = g.node('TopK', [x, kConst], { axis: -1, largest: 1, sorted: 1 }, [
    { dtype: x.dtype, shape },
    { dtype: 'int64', shape },
  ]);
  return { values, indices };
}

/** `torch.gather(x, axis, index)`: output shaped like `index`. */
export function gatherElements(g: GraphBuilder, x: Value, index: Value, axis: number): Value {
  return g.node('GatherElements', [x, index], { axis }, [{ dtype: x.dtype, shape: index.shape }])[0];
}
