import { VitkitError } from '../../errors/vitkit-error.js';
import { float32ToFloat16Bits } from '../../tensor/half.js';
import { MS_DOMAIN } from '../graph-builder.js';
import type { GraphParts } from '../graph-parts.js';
import type { INodeProto, ITensorProto, IValueInfoProto } from '../onnx-proto.js';
import { quantizeInt4Blockwise, quantizeInt8PerChannel } from './quantize.js';

/**
 * The precision a graph is built for, from the same fp32 (or fp16/bf16) checkpoint:
 * - `fp32`: as the checkpoint, widened to float32.
 * - `fp16`: every float weight and activation in float16, with Casts at the graph's float inputs and
 *   outputs so callers still pass and get float32 (GPU backends). LayerNormalization keeps its fp32
 *   statistics (`stash_type` default); Softmax and attention accumulate as the backend's kernels do.
 * - `int8`: Linear weights (MatMul with a 2-D constant) quantized per output channel, symmetric, run by
 *   com.microsoft DynamicQuantizeMatMul (activations quantized per tensor at run time) (cpu, wasm).
 * - `int4`: Linear weights quantized in blocks of 32 along the input axis, asymmetric, run by
 *   com.microsoft MatMulNBits (cpu, wasm).
 * Convolutions, embeddings, norms and biases stay float in int8/int4.
 */
export type WeightPrecision = 'fp32' | 'fp16' | 'int8' | 'int4';

export const WEIGHT_PRECISIONS: readonly WeightPrecision[] = ['fp32', 'fp16', 'int8', 'int4'];

export interface PrecisionPassOptions {
  /**
   * int4: MatMulNBits accuracy_level. Default 0 (fp32 compute): on AVX2 without VNNI it ran at fp32
   * speed, while 4 (int8 compute) was 1.3x slower and no more accurate (speed-probe, ViT-S/14).
   */
  int4AccuracyLevel?: number;
  /** int8: 7-bit weights avoid int16 saturation in u8s8 kernels without VNNI (default 7). */
  int8Bits?: 7 | 8;
}

const FLOAT = 1;
const UINT8 = 2;
const INT8 = 3;
const FLOAT16 = 10;

/** Rewrites a float32 graph for `precision`. Does not mutate `parts`' node or tensor objects. */
export function applyWeightPrecision(parts: GraphParts, precision: WeightPrecision, options: PrecisionPassOptions = {}): GraphParts {
  switch (precision) {
    case 'fp32':
      return parts;
    case 'fp16':
      return toFloat16(parts);
    case 'int8':
    case 'int4':
      return quantizeLinears(parts, precision, options);
    default:
      throw new VitkitError('INVALID_ARGUMENT', `Unknown weight precision "${precision as string}".`);
  }
}

function floatData(t: ITensorProto): Float32Array {
  const raw = t.rawData as Uint8Array | undefined;
  if (raw && raw.byteLength > 0) {
    if (raw.byteOffset % 4 === 0) return new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
    return new Float32Array(raw.slice().buffer);
  }
  return Float32Array.from((t.floatData as number[] | undefined) ?? []);
}

const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const dimsOf = (t: ITensorProto) => (t.dims ?? []).map(Number);

/** Counts how many node inputs and graph outputs read each value. */
function readers(parts: GraphParts): Map<string, number> {
  const n = new Map<string, number>();
  for (const node of parts.node) for (const i of node.input ?? []) if (i) n.set(i, (n.get(i) ?? 0) + 1);
  for (const o of parts.output) n.set(o.name as string, (n.get(o.name as string) ?? 0) + 1);
  return n;
}

/** MatMul(x, W const [K, N]) [+ Add(b const [N])] → DynamicQuantizeMatMul or MatMulNBits. */
function quantizeLinears(parts: GraphParts, precision: 'int8' | 'int4', options: PrecisionPassOptions): GraphParts {
  const inits = new Map(parts.initializer.map((t) => [t.name as string, t]));
  const count = readers(parts);
  const producedBy = new Map<string, number>();
  parts.node.forEach((node, i) => {
    for (const o of node.output ?? []) producedBy.set(o, i);
  });
  const consumersOf = new Map<string, number[]>();
  parts.node.forEach((node, i) => {
    for (const inp of node.input ?? []) {
      if (!inp) continue;
      const list = consumersOf.get(inp) ?? [];
      list.push(i);
      consumersOf.set(inp, list);
    }
  });

  const nodes: (INodeProto | undefined)[] = [...parts.node];
  const added: ITensorProto[] = [];
  const quantized = new Map<string, string[]>(); // weight name → its quantized initializer names (shared weights)
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i];
    if (node?.opType !== 'MatMul' || node.domain) continue;
    const [x, wName] = node.input as string[];
    const w = inits.get(wName);
    if (!w || w.dataType !== FLOAT || dimsOf(w).length !== 2) continue;
    const [k, n] = dimsOf(w);

    // Fold a following bias Add (a [N] constant, the MatMul's only reader) into the new node.
    let out = (node.output as string[])[0];
    let bias: string | undefined;
    const readersOfOut = consumersOf.get(out) ?? [];
    if (readersOfOut.length === 1 && count.get(out) === 1) {
      const j = readersOfOut[0];
      const add = nodes[j];
      if (add && add.opType === 'Add' && !add.domain) {
        const other = add.input?.[0] === out ? add.input?.[1] : add.input?.[0];
        const b = other ? inits.get(other) : undefined;
        if (b && b.dataType === FLOAT && dimsOf(b).length === 1 && dimsOf(b)[0] === n) {
          bias = other as string;
          out = (add.output as string[])[0];
          nodes[j] = undefined;
        }
      }
    }

    let names = quantized.get(wName);
    if (precision === 'int8') {
      if (!names) {
        const q = quantizeInt8PerChannel(floatData(w), k, n, options.int8Bits ?? 7);
        names = [`${wName}.int8`, `${wName}.scale`];
        added.push({ name: names[0], dataType: INT8, dims: [k, n], rawData: bytesOf(q.q) });
        added.push({ name: names[1], dataType: FLOAT, dims: [n], rawData: bytesOf(q.scale) });
        quantized.set(wName, names);
      }
      nodes[i] = {
        name: `${node.name}/int8`,
        opType: 'DynamicQuantizeMatMul',
        domain: MS_DOMAIN,
        input: [x, names[0], names[1], '', bias ?? ''],
        output: [out],
      };
    } else {
      const blockSize = 32;
      const bits = 4;
      if (!names) {
        const q = quantizeInt4Blockwise(floatData(w), k, n, blockSize);
        names = [`${wName}.q${bits}`, `${wName}.scales`, `${wName}.zero_points`];
        added.push({ name: names[0], dataType: UINT8, dims: [n, q.blocks, (blockSize * bits) / 8], rawData: bytesOf(q.packed) });
        added.push({ name: names[1], dataType: FLOAT, dims: [n * q.blocks], rawData: bytesOf(q.scales) });
        added.push({ name: names[2], dataType: UINT8, dims: [q.zeroPoints.length], rawData: bytesOf(q.zeroPoints) });
        quantized.set(wName, names);
      }
      const T = 2; // AttributeProto.INT
      nodes[i] = {
        name: `${node.name}/q${bits}`,
        opType: 'MatMulNBits',
        domain: MS_DOMAIN,
        input: [x, names[0], names[1], names[2], ...(bias ? ['', bias] : [])],
        output: [out],
        attribute: [
          { name: 'K', type: T, i: k },
          { name: 'N', type: T, i: n },
          { name: 'bits', type: T, i: bits },
          { name: 'block_size', type: T, i: blockSize },
          { name: 'accuracy_level', type: T, i: options.int4AccuracyLevel ?? 0 },
        ],
      };
    }
  }
  const kept = nodes.filter((nd): nd is INodeProto => nd !== undefined);
  return { ...parts, node: kept, initializer: pruneInitializers([...parts.initializer, ...added], kept, parts.output) };
}

function pruneInitializers(all: ITensorProto[], nodes: INodeProto[], outputs: IValueInfoProto[]): ITensorProto[] {
  const used = new Set<string>();
  for (const n of nodes) for (const i of n.input ?? []) used.add(i);
  for (const o of outputs) used.add(o.name as string);
  return all.filter((t) => used.has(t.name as string));
}

/** Inputs that ONNX requires in float32 whatever the data type (Resize's roi and scales). */
const KEEP_FLOAT32: Record<string, readonly number[]> = { Resize: [1, 2] };
const FP16_MAX = 65504;

function toFloat16(parts: GraphParts): GraphParts {
  // Initializers read at a float32-only position stay float32 (a copy is made if also read elsewhere).
  const keep32 = new Set<string>();
  const elsewhere = new Set<string>();
  for (const n of parts.node) {
    const kept = KEEP_FLOAT32[n.opType as string] ?? [];
    (n.input ?? []).forEach((name, i) => (kept.includes(i) ? keep32 : elsewhere).add(name));
  }
  const initializer: ITensorProto[] = [];
  const dup = new Map<string, string>();
  for (const t of parts.initializer) {
    const name = t.name as string;
    if (t.dataType !== FLOAT) {
      initializer.push(t);
      continue;
    }
    if (keep32.has(name)) {
      initializer.push(t);
      if (!elsewhere.has(name)) continue;
      dup.set(name, `${name}.fp16`);
    }
    const src = floatData(t);
    const half = new Uint16Array(src.length);
    for (let i = 0; i < src.length; i++) half[i] = float32ToFloat16Bits(Math.max(-FP16_MAX, Math.min(FP16_MAX, src[i])));
    initializer.push({ name: dup.get(name) ?? name, dataType: FLOAT16, dims: t.dims, rawData: bytesOf(half) });
  }

  // Graph float inputs are cast down once; float outputs are produced under a new name and cast up.
  const rename = new Map<string, string>();
  const head: INodeProto[] = [];
  const tail: INodeProto[] = [];
  const castTo = (to: number) => [{ name: 'to', type: 2, i: to }];
  for (const i of parts.input) {
    if (i.type?.tensorType?.elemType !== FLOAT) continue;
    const name = i.name as string;
    rename.set(name, `${name}.fp16`);
    head.push({ name: `${name}/to_fp16`, opType: 'Cast', input: [name], output: [`${name}.fp16`], attribute: castTo(FLOAT16) });
  }
  const outputRename = new Map<string, string>();
  for (const o of parts.output) {
    if (o.type?.tensorType?.elemType !== FLOAT) continue;
    const name = o.name as string;
    const inner = rename.get(name) ?? `${name}.fp16_out`;
    if (!rename.has(name)) outputRename.set(name, inner);
    tail.push({ name: `${name}/to_fp32`, opType: 'Cast', input: [inner], output: [name], attribute: castTo(FLOAT) });
  }
  const map = (v: string) => rename.get(v) ?? outputRename.get(v) ?? v;
  const node = parts.node.map((n) => {
    const kept = KEEP_FLOAT32[n.opType as string] ?? [];
    const input = (n.input ?? []).map((v, i) => (kept.includes(i) ? v : (dup.get(v) ?? map(v))));
    const output = (n.output ?? []).map(map);
    const attribute =
      n.opType === 'Cast' && !n.domain
        ? (n.attribute ?? []).map((a) => (a.name === 'to' && Number(a.i) === FLOAT ? { ...a, i: FLOAT16 } : a))
        : n.attribute;
    return { ...n, input, output, attribute };
  });
  // Every float value changed type; no later pass needs the types, so they are dropped rather than redone.
  return { ...parts, initializer, node: [...head, ...node, ...tail], valueSpecs: new Map() };
}
