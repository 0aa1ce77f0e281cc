import { VitkitError } from '../errors/vitkit-error.js';
import type { DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { encodeModel, type GraphParts } from './graph-parts.js';
import { type IAttributeProto, type INodeProto, type ITensorProto, type IValueInfoProto, onnx, onnxElementType } from './onnx-proto.js';
import { type Dim, formatShape, type Value } from './value.js';

/** Float attributes must be written as ONNX FLOAT; a bare JS number is written as INT. */
export class FloatAttr {
  constructor(readonly value: number) {}
}
export const float = (v: number) => new FloatAttr(v);

export type AttrValue = number | readonly number[] | string | FloatAttr;
export type Attrs = Record<string, AttrValue | undefined>;

export interface OutputSpec {
  dtype: DType;
  shape: readonly Dim[];
}

/** A node as `node()` added it, with its typed inputs and outputs (read-only view, for FLOP counts and inspection). */
export interface NodeRecord {
  readonly opType: string;
  readonly domain: string;
  readonly inputs: readonly (Value | undefined)[];
  readonly outputs: readonly Value[];
  readonly attrs: Readonly<Attrs>;
}

export interface GraphBuilderOptions {
  /** ai.onnx opset; 21 gives LayerNormalization and Gelu as single ops. */
  opset?: number;
  name?: string;
  /**
   * Attention kernel model code gets from `attention()` (default 'reference'). Chosen above graph/,
   * per backend (runtime/device.ts `defaultAttentionKernel`); the builder only records it.
   */
  attentionKernel?: 'reference' | 'fused';
  /**
   * How multi-scale deformable attention samples its value maps (default 'grid-sample': ONNX
   * GridSample; 'gather': GatherND of the four corners, for backends without GridSample at this
   * opset). Chosen above graph/, per backend (runtime/device.ts `defaultDeformableSamplingKernel`).
   */
  deformableSamplingKernel?: 'grid-sample' | 'gather';
}

/** Microsoft contrib ops live in this domain (MultiHeadAttention, SkipLayerNormalization, …). */
export const MS_DOMAIN = 'com.microsoft';

/**
 * Builds an ONNX graph with typed, shape-checked values. Families add nodes through the typed
 * helpers in `ops.ts`, which compute output shapes and reject mismatches while the graph is
 * built, rather than leaving onnxruntime to fail at session creation with a less useful message.
 * It records and serializes; rewrites (fusions, precision) are passes its caller runs on `parts()`
 * (see `serialize-graph.ts`).
 */
export class GraphBuilder {
  readonly opset: number;
  readonly name: string;
  readonly attentionKernel: 'reference' | 'fused';
  readonly deformableSamplingKernel: 'grid-sample' | 'gather';
  /** dtype and shape of every value (inputs, constants, node outputs), for passes that match on shapes. */
  private readonly valueSpecs = new Map<string, OutputSpec>();
  private readonly nodes: INodeProto[] = [];
  private readonly records: NodeRecord[] = [];
  private readonly initializers: ITensorProto[] = [];
  private readonly graphInputs: IValueInfoProto[] = [];
  private readonly graphOutputs: IValueInfoProto[] = [];
  private readonly domains = new Map<string, number>();
  private readonly usedNames = new Set<string>();
  private readonly scopes: string[] = [];

  constructor(options: GraphBuilderOptions = {}) {
    this.opset = options.opset ?? 21;
    this.name = options.name ?? 'vitkit';
    this.attentionKernel = options.attentionKernel ?? 'reference';
    this.deformableSamplingKernel = options.deformableSamplingKernel ?? 'grid-sample';
    this.domains.set('', this.opset);
  }

  get nodeCount(): number {
    return this.nodes.length;
  }

  /** Names nodes and values under a prefix (e.g. `encoder.layer.3`), which profiles and errors show. */
  scope<T>(name: string, body: () => T): T {
    this.scopes.push(name);
    try {
      return body();
    } finally {
      this.scopes.pop();
    }
  }

  private uniqueName(base: string): string {
    const scoped = this.scopes.length ? `${this.scopes.join('/')}/${base}` : base;
    let name = scoped;
    for (let i = 1; this.usedNames.has(name); i++) name = `${scoped}_${i}`;
    this.usedNames.add(name);
    return name;
  }

  input(name: string, dtype: DType, shape: readonly Dim[]): Value {
    if (this.usedNames.has(name)) throw new VitkitError('GRAPH_INVALID', `Graph input "${name}" is declared twice.`);
    this.usedNames.add(name);
    this.graphInputs.push(valueInfo(name, dtype, shape));
    this.valueSpecs.set(name, { dtype, shape: [...shape] });
    return { name, dtype, shape: [...shape] };
  }

  /** Marks `value` as a graph output named `name` (an Identity node renames it if needed). */
  output(value: Value, name = value.name): Value {
    let out = value;
    if (value.name !== name) {
      if (this.usedNames.has(name)) throw new VitkitError('GRAPH_INVALID', `Graph output name "${name}" is already used.`);
      this.usedNames.add(name);
      this.nodes.push({ opType: 'Identity', input: [value.name], output: [name], name: `${name}/Identity` });
      out = { ...value, name };
    }
    this.graphOutputs.push(valueInfo(out.name, out.dtype, out.shape));
    return out;
  }

  /** A weight or precomputed constant, stored as an initializer. */
  constant(tensor: Tensor, hint = 'const'): Value {
    const name = this.uniqueName(hint);
    const d = tensor.data;
    const raw = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
    this.initializers.push({ name, dataType: onnxElementType(tensor.dtype), dims: [...tensor.shape], rawData: raw });
    this.valueSpecs.set(name, { dtype: tensor.dtype, shape: [...tensor.shape] });
    return { name, dtype: tensor.dtype, shape: [...tensor.shape] };
  }

  /** Adds one node. Prefer the typed helpers in `ops.ts`, which work out `outputs` for you. */
  node(
    opType: string,
    inputs: readonly (Value | undefined)[],
    attrs: Attrs,
    outputs: readonly OutputSpec[],
    options: { domain?: string } = {},
  ): Value[] {
    const domain = options.domain ?? '';
    if (domain && !this.domains.has(domain)) this.domains.set(domain, 1);
    const nodeName = this.uniqueName(opType);
    const outs = outputs.map((spec, i) => ({
      name: outputs.length === 1 ? nodeName : `${nodeName}:${i}`,
      dtype: spec.dtype,
      shape: [...spec.shape],
    }));
    for (const o of outs) {
      this.usedNames.add(o.name);
      this.valueSpecs.set(o.name, { dtype: o.dtype, shape: o.shape });
    }
    this.records.push({ opType, domain, inputs: [...inputs], outputs: outs, attrs: { ...attrs } });
    this.nodes.push({
      name: nodeName,
      opType,
      domain: domain || undefined,
      input: inputs.map((v) => v?.name ?? ''),
      output: outs.map((o) => o.name),
      attribute: Object.entries(attrs)
        .filter((e): e is [string, AttrValue] => e[1] !== undefined)
        .map(([k, v]) => attribute(opType, k, v)),
    });
    return outs;
  }

  /** The graph recorded so far, for passes and `encodeModel` (a snapshot; node and tensor objects are shared, and passes do not mutate them). */
  parts(): GraphParts {
    return {
      name: this.name,
      opsets: new Map(this.domains),
      node: [...this.nodes],
      initializer: [...this.initializers],
      input: [...this.graphInputs],
      output: [...this.graphOutputs],
      valueSpecs: new Map(this.valueSpecs),
    };
  }

  /** Serializes the graph as recorded, with no passes (to run some: `serializeGraph`, or `encodeModel(pass(g.parts()))`). */
  toModelProto(): Uint8Array {
    return encodeModel(this.parts());
  }

  /** Every node added through `node()` (output renames excluded), with value shapes: what FLOP counters walk. */
  nodeRecords(): readonly NodeRecord[] {
    return this.records;
  }

  /** Op-type histogram, for benchmarks and for tests that assert a graph's shape. */
  opCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const n of this.nodes) counts.set(n.opType as string, (counts.get(n.opType as string) ?? 0) + 1);
    return counts;
  }
}

function valueInfo(name: string, dtype: DType, shape: readonly Dim[]): IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnxElementType(dtype),
        shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(opType: string, name: string, v: AttrValue): IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (v instanceof FloatAttr) return { name, type: T.FLOAT, f: v.value };
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) {
      throw new VitkitError('GRAPH_INVALID', `${opType}.${name} = ${v} is not an integer; wrap float attributes with float().`);
    }
    return { name, type: T.INT, i: v };
  }
  if (!v.every((x) => Number.isInteger(x))) {
    throw new VitkitError('GRAPH_INVALID', `${opType}.${name} = [${v.join(', ')}] has non-integers; float lists are not supported.`);
  }
  return { name, type: T.INTS, ints: [...v] };
}

export function shapeError(op: string, message: string, ...values: Value[]): VitkitError {
  const detail = values.map((v) => `${v.name} ${formatShape(v.shape)}`).join(', ');
  return new VitkitError('GRAPH_SHAPE_MISMATCH', `${op}: ${message} (${detail}).`);
}
