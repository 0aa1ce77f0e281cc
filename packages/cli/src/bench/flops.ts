// FLOPs, and the shapes of the ops that do them, read from the graph vitkit built (multiply-add = 2 FLOPs).

/** What the counter reads of a GraphBuilder node record. */
export interface FlopNode {
  readonly opType: string;
  readonly inputs: readonly ({ readonly shape: readonly (number | string)[] } | undefined)[];
  readonly outputs: readonly { readonly shape: readonly (number | string)[] }[];
  readonly attrs: Readonly<Record<string, unknown>>;
}

/**
 * Values of the symbolic dims. Dims are sums of products and quotients of names, as the builder writes
 * them ('batch', 'batch*64' for Swin's windows, 'batch/4', 'sequence[0:16]' for a slice of a dim,
 * '0+sequence[0:16]+16' for a concatenation); a name not given here makes the count NaN rather than a
 * silently wrong number.
 */
export type DimValues = Readonly<Record<string, number>>;

export function dimValue(d: number | string, values: DimValues): number {
  if (typeof d === 'number') return d;
  if (d.includes('+')) return d.split('+').reduce((sum, term) => sum + dimValue(term, values), 0);
  const [body, den = '1'] = d.split('/');
  let v = 1;
  for (const part of body.split('*')) v *= factorValue(part, values);
  return v / Number(den);
}

/** A number, a name, or a name's slice `name[start:end]` (the length of that slice of a dim of that size). */
function factorValue(part: string, values: DimValues): number {
  if (/^\d+$/.test(part)) return Number(part);
  const slice = /^(\w+)\[(\d+):(\d+)\]$/.exec(part);
  if (slice) {
    const size = values[slice[1]] ?? Number.NaN;
    return Math.max(0, Math.min(size, Number(slice[3])) - Math.min(size, Number(slice[2])));
  }
  return values[part] ?? Number.NaN;
}

const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);
const valuesOf = (batch: number | DimValues): DimValues => (typeof batch === 'number' ? { batch } : batch);

/**
 * FLOPs of one forward pass (`batch`: the value of the 'batch' dim, or every symbolic dim's value):
 * MatMul-like ops, Gemm, Conv and attention (com.microsoft MultiHeadAttention / Attention).
 * Elementwise ops, norms and softmax are left out: they are a few percent of a ViT's work and are
 * memory-bound anyway.
 */
export function countFlops(nodes: readonly FlopNode[], batch: number | DimValues = 1): number {
  const values = valuesOf(batch);
  let flops = 0;
  for (const n of nodes) {
    const inShape = (i: number) => (n.inputs[i]?.shape ?? []).map((d) => dimValue(d, values));
    const out = (n.outputs[0]?.shape ?? []).map((d) => dimValue(d, values));
    switch (n.opType) {
      case 'MatMul':
      case 'MatMulInteger':
      case 'FusedMatMul':
      case 'DynamicQuantizeMatMul':
      case 'QLinearMatMul': {
        const a = inShape(0);
        flops += 2 * prod(out) * a[a.length - 1];
        break;
      }
      case 'MatMulNBits':
        flops += 2 * prod(out) * Number(n.attrs.K);
        break;
      case 'Gemm': {
        const a = inShape(0);
        const k = n.attrs.transA ? a[0] : a[1];
        flops += 2 * prod(out) * k;
        break;
      }
      case 'Conv': {
        const w = inShape(1); // [Cout, Cin/group, kh, kw]
        flops += 2 * prod(out) * prod(w.slice(1));
        break;
      }
      case 'MultiHeadAttention':
      case 'Attention': {
        // q [B, Sq, C] (or [B, Sq, H, D]), k [B, Sk, C]: Q·Kᵀ and P·V, 2·B·Sq·Sk·C each.
        const q = inShape(0);
        const k = n.inputs[1] ? inShape(1) : q;
        const c = n.opType === 'Attention' ? out[out.length - 1] : prod(q.slice(2));
        flops += 2 * 2 * q[0] * q[1] * k[1] * c;
        break;
      }
    }
  }
  return flops;
}

/**
 * One of the model's weight ops, as a shape the ceiling can time alone: a Linear ([m, k] × [k, n],
 * m = every leading dim of the activation) or a convolution (its kernel, channels, stride, and output
 * size). Attention and activation × activation products are left out: the ceiling is the best the
 * backend's GEMM and convolution kernels do, and those are what a model's time is mostly spent in.
 */
export type OpShape =
  | { op: 'MatMul'; m: number; k: number; n: number }
  | {
      op: 'Conv';
      batch: number;
      cin: number;
      cout: number;
      kernel: [number, number];
      stride: [number, number];
      /** Output height and width. */
      out: [number, number];
      group: number;
    };

export function opShapeLabel(s: OpShape): string {
  if (s.op === 'MatMul') return `MatMul [${s.m}×${s.k}]·[${s.k}×${s.n}]`;
  const stride = s.stride[0] === 1 && s.stride[1] === 1 ? '' : ` /${s.stride[0]}`;
  const group = s.group === 1 ? '' : ` g${s.group}`;
  return `Conv ${s.kernel[0]}×${s.kernel[1]}${stride}${group} ${s.cin}→${s.cout} @ ${s.batch}×${s.out[0]}×${s.out[1]}`;
}

export function opShapeFlops(s: OpShape): number {
  if (s.op === 'MatMul') return 2 * s.m * s.k * s.n;
  return 2 * s.batch * s.cout * s.out[0] * s.out[1] * (s.cin / s.group) * s.kernel[0] * s.kernel[1];
}

function opShapeOf(n: FlopNode, values: DimValues): OpShape | undefined {
  const shape = (i: number) => (n.inputs[i]?.shape ?? []).map((d) => dimValue(d, values));
  if (n.opType === 'MatMul') {
    const a = shape(0);
    const w = shape(1);
    // A Linear: the weight is a 2-D constant (activation × activation products have batch dims).
    if (w.length !== 2 || a.length < 2) return undefined;
    return { op: 'MatMul', m: prod(a.slice(0, -1)), k: w[0], n: w[1] };
  }
  if (n.opType === 'Conv') {
    const x = shape(0);
    const w = shape(1);
    const out = (n.outputs[0]?.shape ?? []).map((d) => dimValue(d, values));
    if (x.length !== 4 || w.length !== 4 || out.length !== 4) return undefined;
    const strides = (n.attrs.strides as number[] | undefined) ?? [1, 1];
    return {
      op: 'Conv',
      batch: x[0],
      cin: x[1],
      cout: w[0],
      kernel: [w[2], w[3]],
      stride: [strides[0], strides[1]],
      out: [out[2], out[3]],
      group: Number(n.attrs.group ?? 1),
    };
  }
  return undefined;
}

/** The model's weight-op shapes that do the most FLOPs in all (equal shapes summed), most first. */
export function heaviestOps(nodes: readonly FlopNode[], batch: number | DimValues, count = 3): OpShape[] {
  const values = valuesOf(batch);
  const total = new Map<string, { shape: OpShape; flops: number }>();
  for (const n of nodes) {
    const s = opShapeOf(n, values);
    if (!s || !Number.isFinite(opShapeFlops(s))) continue;
    const key = opShapeLabel(s);
    const seen = total.get(key) ?? { shape: s, flops: 0 };
    seen.flops += opShapeFlops(s);
    total.set(key, seen);
  }
  return [...total.values()]
    .sort((a, b) => b.flops - a.flops)
    .slice(0, count)
    .map((e) => e.shape);
}
