import { VitkitError } from '../errors/vitkit-error.js';
import type { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { type Attrs, float, type GraphBuilder, shapeError } from './graph-builder.js';
import { type Dim, knownSize, type Value } from './value.js';

// Typed op helpers: each computes its output shape, and refuses inputs whose shapes cannot work.

function broadcastShapes(op: string, a: Value, b: Value): Dim[] {
  const rank = Math.max(a.shape.length, b.shape.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a.shape[a.shape.length - rank + i] ?? 1;
    const db = b.shape[b.shape.length - rank + i] ?? 1;
    if (da === db || db === 1) out.push(da);
    else if (da === 1) out.push(db);
    else if (typeof da === 'string' || typeof db === 'string') out.push(typeof da === 'string' ? da : db);
    else throw shapeError(op, `cannot broadcast dimension ${da} with ${db}`, a, b);
  }
  return out;
}

function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

function binary(op: string) {
  return (g: GraphBuilder, a: Value, b: Value): Value => g.node(op, [a, b], {}, [{ dtype: a.dtype, shape: broadcastShapes(op, a, b) }])[0];
}
export const add = binary('Add');
export const sub = binary('Sub');
export const mul = binary('Mul');
export const div = binary('Div');
export const max = binary('Max');
export const min = binary('Min');

/** cond ? a : b, elementwise (broadcast); cond is bool. */
export function where(g: GraphBuilder, cond: Value, a: Value, b: Value): Value {
  if (cond.dtype !== 'bool') throw shapeError('Where', 'the condition must be bool', cond);
  const shape = broadcastShapes('Where', { ...cond, shape: broadcastShapes('Where', cond, a) }, b);
  return g.node('Where', [cond, a, b], {}, [{ dtype: a.dtype, shape }])[0];
}

/** Elementwise a == b (broadcast), as bool. */
export function equal(g: GraphBuilder, a: Value, b: Value): Value {
  return g.node('Equal', [a, b], {}, [{ dtype: 'bool', shape: broadcastShapes('Equal', a, b) }])[0];
}

function unary(op: string) {
  return (g: GraphBuilder, x: Value, attrs: Attrs = {}): Value => g.node(op, [x], attrs, [{ dtype: x.dtype, shape: x.shape }])[0];
}
export const relu = unary('Relu');
export const tanh = unary('Tanh');
export const sigmoid = unary('Sigmoid');
export const identity = unary('Identity');
export const sqrt = unary('Sqrt');
export const floor = unary('Floor');
/** Exact (erf) GELU, as Hugging Face's "gelu" activation. */
export const gelu = (g: GraphBuilder, x: Value) => unary('Gelu')(g, x, { approximate: 'none' });
export const softmax = (g: GraphBuilder, x: Value, axis = -1) => unary('Softmax')(g, x, { axis });

export function matMul(g: GraphBuilder, a: Value, b: Value): Value {
  if (a.shape.length < 2 || b.shape.length < 2) throw shapeError('MatMul', 'both inputs need rank >= 2', a, b);
  const k1 = a.shape[a.shape.length - 1];
  const k2 = b.shape[b.shape.length - 2];
  if (typeof k1 === 'number' && typeof k2 === 'number' && k1 !== k2) {
    throw shapeError('MatMul', `inner dimensions differ (${k1} vs ${k2})`, a, b);
  }
  const batchA = { ...a, shape: a.shape.slice(0, -2) };
  const batchB = { ...b, shape: b.shape.slice(0, -2) };
  const batch = broadcastShapes('MatMul', batchA, batchB);
  return g.node('MatMul', [a, b], {}, [{ dtype: a.dtype, shape: [...batch, a.shape[a.shape.length - 2], b.shape[b.shape.length - 1]] }])[0];
}

/** Constant-shape reshape. 0 copies the input dimension (keeps the symbolic batch); -1 is inferred. */
export function reshape(g: GraphBuilder, x: Value, shape: readonly number[]): Value {
  const out: Dim[] = shape.map((d, i) => (d === 0 ? x.shape[i] : d));
  const inferAt = out.indexOf(-1);
  if (inferAt >= 0) out[inferAt] = inferDim(x, out, inferAt);
  checkSameSize('Reshape', x, out);
  const shapeConst = g.constant(new Tensor('int64', BigInt64Array.from(shape.map(BigInt)), [shape.length]), 'shape');
  return g.node('Reshape', [x, shapeConst], {}, [{ dtype: x.dtype, shape: out }])[0];
}

/**
 * Symbolic dims are products written as text ('batch', 'batch*4', 'batch/4'): enough algebra to
 * infer a -1 (Swin's windows multiply and divide the batch) and compare shapes while building.
 */
interface Product {
  names: string[];
  num: number;
  den: number;
}

function parseDim(d: Dim): Product {
  if (typeof d === 'number') return { names: [], num: d, den: 1 };
  const [body, den = '1'] = splitTopLevel(d, '/');
  const names: string[] = [];
  let num = 1;
  for (const part of splitTopLevel(body, '*')) {
    if (/^\d+$/.test(part)) num *= Number(part);
    else names.push(part);
  }
  return { names, num, den: Number(den) };
}

/** Splits at `sep` outside parentheses: a name like 'ceil(height/32)' is one factor. */
function splitTopLevel(text: string, sep: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')') depth--;
    else if (text[i] === sep && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

function formatProduct({ names, num, den }: Product): Dim {
  const k = gcd(num, den);
  const n = num / k;
  const dd = den / k;
  if (names.length === 0 && dd === 1) return n;
  const body = [...[...names].sort(), ...(n === 1 && names.length ? [] : [String(n)])].join('*');
  return dd === 1 ? body : `${body}/${dd}`;
}

function inferDim(x: Value, out: Dim[], at: number): Dim {
  const total: Product = { names: [], num: 1, den: 1 };
  for (const d of x.shape) {
    const p = parseDim(d);
    total.names.push(...p.names);
    total.num *= p.num;
    total.den *= p.den;
  }
  for (let i = 0; i < out.length; i++) {
    if (i === at) continue;
    const p = parseDim(out[i]);
    total.num *= p.den;
    total.den *= p.num;
    for (const n of p.names) {
      const k = total.names.indexOf(n);
      if (k < 0) throw shapeError('Reshape', `cannot infer -1: symbolic dimension ${n} is not in the input`, x);
      total.names.splice(k, 1);
    }
  }
  if (total.den === 0 || (total.names.length === 0 && total.num % total.den !== 0)) {
    throw shapeError('Reshape', `cannot infer -1 for target [${out.join(', ')}]`, x);
  }
  return formatProduct(total);
}

/** ONNX Flatten: [d0, …, d(axis-1), d(axis), …] → [d0·…·d(axis-1), d(axis)·…] (no shape input, so no Shape op). */
export function flatten(g: GraphBuilder, x: Value, axis: number): Value {
  const ax = normAxis(axis, x.shape.length);
  const product = (dims: readonly Dim[]): Dim => {
    const total: Product = { names: [], num: 1, den: 1 };
    for (const d of dims) {
      const p = parseDim(d);
      total.names.push(...p.names);
      total.num *= p.num;
      total.den *= p.den;
    }
    return formatProduct(total);
  };
  return g.node('Flatten', [x], { axis: ax }, [{ dtype: x.dtype, shape: [product(x.shape.slice(0, ax)), product(x.shape.slice(ax))] }])[0];
}

/** Inserts size-1 axes (positions in the output), as ONNX Unsqueeze. */
export function unsqueeze(g: GraphBuilder, x: Value, axes: readonly number[]): Value {
  const rank = x.shape.length + axes.length;
  const at = axes.map((a) => normAxis(a, rank));
  const shape: Dim[] = [];
  let next = 0;
  for (let i = 0; i < rank; i++) shape.push(at.includes(i) ? 1 : x.shape[next++]);
  return g.node('Unsqueeze', [x, int64s(g, axes, 'axes')], {}, [{ dtype: x.dtype, shape }])[0];
}

/** Removes size-1 axes, as ONNX Squeeze. */
export function squeeze(g: GraphBuilder, x: Value, axes: readonly number[]): Value {
  const at = axes.map((a) => normAxis(a, x.shape.length));
  for (const a of at) if (x.shape[a] !== 1) throw shapeError('Squeeze', `axis ${a} is not of size 1`, x);
  return g.node('Squeeze', [x, int64s(g, axes, 'axes')], {}, [{ dtype: x.dtype, shape: x.shape.filter((_, i) => !at.includes(i)) }])[0];
}

function checkSameSize(op: string, x: Value, out: readonly Dim[]): void {
  const a = knownSize(x.shape);
  const b = knownSize(out);
  if (a !== undefined && b !== undefined && a !== b) throw shapeError(op, `cannot change ${a} elements into shape [${out.join(', ')}]`, x);
}

export function transpose(g: GraphBuilder, x: Value, perm: readonly number[]): Value {
  if (perm.length !== x.shape.length) throw shapeError('Transpose', `perm [${perm.join(', ')}] does not match the rank`, x);
  return g.node('Transpose', [x], { perm }, [{ dtype: x.dtype, shape: perm.map((p) => x.shape[p]) }])[0];
}

export function concat(g: GraphBuilder, xs: readonly Value[], axis: number): Value {
  const rank = xs[0].shape.length;
  const ax = normAxis(axis, rank);
  const shape = [...xs[0].shape];
  let total: Dim = 0;
  for (const x of xs) {
    if (x.shape.length !== rank) throw shapeError('Concat', 'inputs differ in rank', ...xs);
    x.shape.forEach((d, i) => {
      if (i !== ax && d !== shape[i] && typeof d === 'number' && typeof shape[i] === 'number') {
        throw shapeError('Concat', `dimension ${i} differs`, ...xs);
      }
    });
    const d = x.shape[ax];
    total = typeof total === 'number' && typeof d === 'number' ? total + d : `${total}+${d}`;
  }
  shape[ax] = total;
  return g.node('Concat', xs, { axis }, [{ dtype: xs[0].dtype, shape }])[0];
}

const int64s = (g: GraphBuilder, values: readonly number[], hint: string) =>
  g.constant(new Tensor('int64', BigInt64Array.from(values.map(BigInt)), [values.length]), hint);

/** Static slice along the given axes (ends are clamped, as ONNX does). */
export function slice(
  g: GraphBuilder,
  x: Value,
  starts: readonly number[],
  ends: readonly number[],
  axes: readonly number[],
  steps?: readonly number[],
): Value {
  const shape = [...x.shape];
  axes.forEach((axis, i) => {
    const ax = normAxis(axis, shape.length);
    const d = shape[ax];
    const step = steps?.[i] ?? 1;
    if (typeof d !== 'number') {
      shape[ax] = `${d}[${starts[i]}:${ends[i]}]`;
      return;
    }
    const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + d : v, 0), d);
    shape[ax] = Math.max(0, Math.ceil((clamp(ends[i]) - clamp(starts[i])) / step));
  });
  const inputs = [x, int64s(g, starts, 'starts'), int64s(g, ends, 'ends'), int64s(g, axes, 'axes')];
  if (steps) inputs.push(int64s(g, steps, 'steps'));
  return g.node('Slice', inputs, {}, [{ dtype: x.dtype, shape }])[0];
}

/** Gather along `axis`, with constant indices or a runtime index tensor (int32/int64, its shape replaces the axis). */
export function gather(g: GraphBuilder, x: Value, indices: readonly number[] | number | Value, axis: number): Value {
  const ax = normAxis(axis, x.shape.length);
  const shape = [...x.shape];
  let idx: Value;
  if (typeof indices === 'number') {
    idx = g.constant(new Tensor('int64', BigInt64Array.of(BigInt(indices)), []), 'index');
    shape.splice(ax, 1);
  } else if (isValue(indices)) {
    if (indices.dtype !== 'int32' && indices.dtype !== 'int64') throw shapeError('Gather', 'indices must be int32 or int64', x, indices);
    idx = indices;
    shape.splice(ax, 1, ...indices.shape);
  } else {
    idx = int64s(g, indices, 'indices');
    shape[ax] = indices.length;
  }
  return g.node('Gather', [x, idx], { axis }, [{ dtype: x.dtype, shape }])[0];
}

/**
 * GatherND with `batchDims` leading dims shared by data and indices (int64): each row of the last
 * index axis (length k) picks data[batch…, i0, …, ik-1], the rest of data's dims trailing.
 */
export function gatherNd(g: GraphBuilder, data: Value, indices: Value, batchDims = 0): Value {
  const k = indices.shape[indices.shape.length - 1];
  if (indices.dtype !== 'int64') throw shapeError('GatherND', 'indices must be int64', data, indices);
  if (typeof k !== 'number' || batchDims + k > data.shape.length || indices.shape.length <= batchDims) {
    throw shapeError('GatherND', `the last index axis (${k}) and batch_dims ${batchDims} do not fit the data's rank`, data, indices);
  }
  for (let i = 0; i < batchDims; i++) {
    const [a, b] = [data.shape[i], indices.shape[i]];
    if (a !== b && typeof a === 'number' && typeof b === 'number') throw shapeError('GatherND', `batch dim ${i} differs`, data, indices);
  }
  const shape = [...indices.shape.slice(0, -1), ...data.shape.slice(batchDims + k)];
  return g.node('GatherND', [data, indices], { batch_dims: batchDims }, [{ dtype: data.dtype, shape }])[0];
}

/**
 * Bilinear GridSample of x [N, C, H, W] at grid [N, Ho, Wo, 2] (x, y in [-1, 1]) → [N, C, Ho, Wo], as
 * torch's grid_sample(mode='bilinear'). Needs opset 16; the mode is named 'linear' from opset 20.
 */
export function gridSample(
  g: GraphBuilder,
  x: Value,
  grid: Value,
  o: { paddingMode: 'zeros' | 'border' | 'reflection'; alignCorners: boolean },
): Value {
  if (g.opset < 16) throw new VitkitError('GRAPH_INVALID', `GridSample needs opset 16 or later; this graph is opset ${g.opset}.`);
  if (x.shape.length !== 4 || grid.shape.length !== 4 || grid.shape[3] !== 2) {
    throw shapeError('GridSample', 'x must be [N, C, H, W] and grid [N, Ho, Wo, 2]', x, grid);
  }
  const [n, c] = x.shape;
  const [gn, ho, wo] = grid.shape;
  if (n !== gn && typeof n === 'number' && typeof gn === 'number') throw shapeError('GridSample', 'x and grid differ in N', x, grid);
  const attrs = { mode: g.opset >= 20 ? 'linear' : 'bilinear', padding_mode: o.paddingMode, align_corners: o.alignCorners ? 1 : 0 };
  return g.node('GridSample', [x, grid], attrs, [{ dtype: x.dtype, shape: [n, c, ho, wo] }])[0];
}

const isValue = (v: readonly number[] | Value): v is Value => !Array.isArray(v);

/** Running sum along `axis` (inclusive, forward), as `torch.cumsum`. */
export function cumSum(g: GraphBuilder, x: Value, axis: number): Value {
  const ax = g.constant(new Tensor('int64', BigInt64Array.of(BigInt(axis)), []), 'axis');
  return g.node('CumSum', [x, ax], {}, [{ dtype: x.dtype, shape: x.shape }])[0];
}

export function layerNorm(g: GraphBuilder, x: Value, scale: Value, bias: Value | undefined, epsilon: number): Value {
  const c = x.shape[x.shape.length - 1];
  if (scale.shape.length !== 1 || (typeof c === 'number' && scale.shape[0] !== c)) {
    throw shapeError('LayerNormalization', `scale must be [${c}]`, x, scale);
  }
  return g.node('LayerNormalization', [x, scale, bias], { axis: -1, epsilon: float(epsilon) }, [{ dtype: x.dtype, shape: x.shape }])[0];
}

function reduce(op: string) {
  return (g: GraphBuilder, x: Value, axes: readonly number[], keepdims: boolean): Value => {
    const norm = axes.map((a) => normAxis(a, x.shape.length));
    const shape = keepdims ? x.shape.map((d, i) => (norm.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !norm.includes(i));
    return g.node(op, [x, int64s(g, axes, 'axes')], { keepdims: keepdims ? 1 : 0 }, [{ dtype: x.dtype, shape }])[0];
  };
}
export const reduceMean = reduce('ReduceMean');
export const reduceSum = reduce('ReduceSum');
export const reduceL2 = reduce('ReduceL2');

export interface ConvOptions {
  strides?: [number, number];
  pads?: [number, number, number, number];
  dilations?: [number, number];
  group?: number;
}

export function conv2d(g: GraphBuilder, x: Value, weight: Value, bias: Value | undefined, o: ConvOptions = {}): Value {
  const [n, cin, h, w] = x.shape;
  const [cout, cinPerGroup, kh, kw] = weight.shape as number[];
  const group = o.group ?? 1;
  if (typeof cin === 'number' && cin !== cinPerGroup * group) {
    throw shapeError('Conv', `input has ${cin} channels but the weight expects ${cinPerGroup * group}`, x, weight);
  }
  const [sh, sw] = o.strides ?? [1, 1];
  const [pt, pl, pb, pr] = o.pads ?? [0, 0, 0, 0];
  const [dh, dw] = o.dilations ?? [1, 1];
  const outDim = (d: Dim, k: number, s: number, p0: number, p1: number, dil: number): Dim =>
    typeof d === 'number' ? Math.floor((d + p0 + p1 - dil * (k - 1) - 1) / s) + 1 : windowDim(d, p0 + p1 - dil * (k - 1) - 1 + s, s);
  const shape = [n, cout, outDim(h, kh, sh, pt, pb, dh), outDim(w, kw, sw, pl, pr, dw)];
  return g.node(
    'Conv',
    [x, weight, bias],
    { strides: [sh, sw], pads: [pt, pl, pb, pr], dilations: [dh, dw], group, kernel_shape: [kh, kw] },
    [{ dtype: x.dtype, shape }],
  )[0];
}

/**
 * A symbolic size after a sliding window, `floor((d + c) / s)`, named by what it is: the same name for
 * a 'same' stride-1 window, `ceil(d/s)` for the usual padded strided one (ceil(ceil(d/a)/b) written
 * ceil(d/ab), so a ResNet's feature map is 'ceil(height/32)'), else the formula.
 */
function windowDim(d: string, c: number, s: number): Dim {
  if (s === 1 && c === 0) return d;
  if (c === s - 1) {
    const [inner, by] = ceilOf(d) ?? [d, 1];
    return `ceil(${inner}/${by * s})`;
  }
  return `floor((${d}${c < 0 ? '' : '+'}${c})/${s})`;
}

/** 'ceil(X/n)' → [X, n] when the whole dim is that one ceil. */
function ceilOf(d: string): [string, number] | undefined {
  if (!d.startsWith('ceil(') || !d.endsWith(')')) return undefined;
  const body = d.slice('ceil('.length, -1);
  let depth = 0;
  for (const ch of body) {
    depth += ch === '(' ? 1 : ch === ')' ? -1 : 0;
    if (depth < 0) return undefined; // the first ')' closes before the end: 'ceil(a/2)+ceil(b/2)'
  }
  const parts = splitTopLevel(body, '/');
  return parts.length === 2 && /^\d+$/.test(parts[1]) ? [parts[0], Number(parts[1])] : undefined;
}

export function cast(g: GraphBuilder, x: Value, to: DType, onnxType: number): Value {
  return g.node('Cast', [x], { to: onnxType }, [{ dtype: to, shape: x.shape }])[0];
}

export const sin = unary('Sin');
export const cos = unary('Cos');

export interface PoolOptions {
  kernel: [number, number];
  strides?: [number, number];
  pads?: [number, number, number, number];
}

/** MaxPool over [N, C, H, W] (floor mode, as torch's nn.MaxPool2d default). */
export function maxPool2d(g: GraphBuilder, x: Value, o: PoolOptions): Value {
  if (x.shape.length !== 4) throw shapeError('MaxPool', 'input must be [N, C, H, W]', x);
  const [n, c, h, w] = x.shape;
  const [kh, kw] = o.kernel;
  const [sh, sw] = o.strides ?? o.kernel;
  const [pt, pl, pb, pr] = o.pads ?? [0, 0, 0, 0];
  const outDim = (d: Dim, k: number, s: number, p0: number, p1: number): Dim =>
    typeof d === 'number' ? Math.floor((d + p0 + p1 - k) / s) + 1 : windowDim(d, p0 + p1 - k + s, s);
  const shape = [n, c, outDim(h, kh, sh, pt, pb), outDim(w, kw, sw, pl, pr)];
  return g.node('MaxPool', [x], { kernel_shape: [kh, kw], strides: [sh, sw], pads: [pt, pl, pb, pr] }, [{ dtype: x.dtype, shape }])[0];
}
