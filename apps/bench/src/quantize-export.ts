// transformers.js's q8 file (onnx/model_quantized.onnx) for an export that has none, made the way
// onnxruntime's `quantize_dynamic(model, out, op_types_to_quantize=['MatMul'])` makes it with its
// defaults (weight_type QInt8, per_channel False, reduce_range False; onnxruntime/python/tools/
// quantization, IntegerOps mode). Python's onnxruntime is not installable here, so this restates
// that recipe on core's ONNX protobuf:
// - every MatMul whose B is a float initializer: B → int8, symmetric per tensor (zero point 0, scale
//   max|B| / 127, values rounded half to even and clamped to ±127);
// - its A → DynamicQuantizeLinear (uint8, scale and zero point computed per run), shared by every
//   MatMul that reads the same A;
// - MatMulInteger(A_q, B_q, A_zp, B_zp) → Cast(float) → Mul by (A_scale · B_scale) under the
//   MatMul's own output name. onnxruntime fuses this into DynamicQuantizeMatMul at load.
// Everything else (Conv, Gemm, norms, biases) stays float32; external data is inlined (the file is
// one protobuf, as quantize_dynamic writes it for a model this small).
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { onnx } from '@vitkit/core/internal';

type TensorProto = InstanceType<typeof onnx.TensorProto>;
type NodeProto = InstanceType<typeof onnx.NodeProto>;

export const QUANTIZED_EXPORT = join('onnx', 'model_quantized.onnx');

export interface QuantizeReport {
  path: string;
  matmuls: number;
  /** MatMuls left float: their B is not a float initializer (activations × activations, as in attention). */
  skipped: number;
}

/** The float32 values of an initializer, its external data read from beside the model. */
function floatValues(t: TensorProto, modelDir: string, files: Map<string, Buffer>): Float32Array {
  const raw = rawBytes(t, modelDir, files);
  if (raw) return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  return Float32Array.from(t.floatData ?? []);
}

function rawBytes(t: TensorProto, modelDir: string, files: Map<string, Buffer>): Uint8Array | undefined {
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    const entry = Object.fromEntries((t.externalData ?? []).map((e) => [e.key, e.value]));
    const location = entry.location as string;
    if (!files.has(location)) files.set(location, readFileSync(join(modelDir, location)));
    const file = files.get(location)!;
    const offset = Number(entry.offset ?? 0);
    const length = entry.length !== undefined ? Number(entry.length) : file.byteLength - offset;
    return new Uint8Array(file.buffer, file.byteOffset + offset, length);
  }
  return t.rawData?.length ? t.rawData : undefined;
}

/** numpy's rint: half to even, as onnxruntime's quantizer rounds. */
function rint(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function scalar(name: string, dataType: number, bytes: Uint8Array): TensorProto {
  return onnx.TensorProto.create({ name, dataType, dims: [], rawData: bytes });
}

/** Writes `<folder>/onnx/model_quantized.onnx` from `<folder>/onnx/model.onnx` (+ its external data). */
export function quantizeExport(folder: string): QuantizeReport {
  const modelPath = join(folder, 'onnx', 'model.onnx');
  const modelDir = dirname(modelPath);
  const model = onnx.ModelProto.decode(readFileSync(modelPath));
  const graph = model.graph!;
  const files = new Map<string, Buffer>();
  const inits = new Map(graph.initializer!.map((t) => [t.name!, t as TensorProto]));
  const quantizedWeights = new Map<string, { q: string; scale: string; zp: string }>();
  const quantizedActivations = new Map<string, { q: string; scale: string; zp: string }>();
  const newInits: TensorProto[] = [];
  const nodes: NodeProto[] = [];
  let matmuls = 0;
  let skipped = 0;
  for (const node of graph.node as NodeProto[]) {
    const b = node.input?.[1];
    const init = node.opType === 'MatMul' && b ? inits.get(b) : undefined;
    if (node.opType !== 'MatMul') {
      nodes.push(node);
      continue;
    }
    if (!init || init.dataType !== onnx.TensorProto.DataType.FLOAT) {
      skipped++;
      nodes.push(node);
      continue;
    }
    matmuls++;
    let w = quantizedWeights.get(b!);
    if (!w) {
      const values = floatValues(init, modelDir, files);
      let absMax = 0;
      for (const v of values) absMax = Math.max(absMax, Math.abs(v));
      const scale = absMax === 0 ? 1 : absMax / 127;
      const q = new Int8Array(values.length);
      for (let i = 0; i < values.length; i++) q[i] = Math.max(-127, Math.min(127, rint(values[i] / scale)));
      w = { q: `${b}_quantized`, scale: `${b}_scale`, zp: `${b}_zero_point` };
      newInits.push(
        onnx.TensorProto.create({
          name: w.q,
          dataType: onnx.TensorProto.DataType.INT8,
          dims: init.dims,
          rawData: new Uint8Array(q.buffer),
        }),
        scalar(w.scale, onnx.TensorProto.DataType.FLOAT, new Uint8Array(Float32Array.of(scale).buffer)),
        scalar(w.zp, onnx.TensorProto.DataType.INT8, new Uint8Array(1)),
      );
      quantizedWeights.set(b!, w);
    }
    const a = node.input![0];
    let x = quantizedActivations.get(a);
    if (!x) {
      x = { q: `${a}_quantized`, scale: `${a}_scale`, zp: `${a}_zero_point` };
      nodes.push(
        onnx.NodeProto.create({ opType: 'DynamicQuantizeLinear', name: `${a}_QuantizeLinear`, input: [a], output: [x.q, x.scale, x.zp] }),
      );
      quantizedActivations.set(a, x);
    }
    const out = node.output![0];
    const base = node.name ? `${node.name}_quant` : out;
    nodes.push(
      onnx.NodeProto.create({ opType: 'MatMulInteger', name: base, input: [x.q, w.q, x.zp, w.zp], output: [`${out}_output_quantized`] }),
      onnx.NodeProto.create({
        opType: 'Cast',
        name: `${out}_output_quantized_cast`,
        input: [`${out}_output_quantized`],
        output: [`${out}_output_quantized_cast_output`],
        attribute: [
          onnx.AttributeProto.create({ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: onnx.TensorProto.DataType.FLOAT }),
        ],
      }),
      onnx.NodeProto.create({ opType: 'Mul', name: `${base}_scales_mul`, input: [x.scale, w.scale], output: [`${base}_scales_mul:0`] }),
      onnx.NodeProto.create({
        opType: 'Mul',
        name: `${base}_output_scale_mul`,
        input: [`${out}_output_quantized_cast_output`, `${base}_scales_mul:0`],
        output: [out],
      }),
    );
  }
  // Float initializers no MatMul took stay, inlined; the quantized ones replace theirs.
  const kept: TensorProto[] = [];
  for (const t of graph.initializer as TensorProto[]) {
    if (quantizedWeights.has(t.name!)) continue;
    const raw = rawBytes(t, modelDir, files);
    kept.push(
      onnx.TensorProto.create({
        ...t,
        rawData: raw ? new Uint8Array(raw) : t.rawData,
        externalData: [],
        dataLocation: onnx.TensorProto.DataLocation.DEFAULT,
      }),
    );
  }
  graph.initializer = [...kept, ...newInits];
  graph.node = nodes;
  const path = join(folder, QUANTIZED_EXPORT);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, onnx.ModelProto.encode(model).finish());
  renameSync(tmp, path); // never half a file under the name transformers.js loads
  return { path, matmuls, skipped };
}

/** The q8 file, made once if the folder has none (`made` says whether this call wrote it). */
export function ensureQuantizedExport(folder: string): QuantizeReport & { made: boolean } {
  const path = join(folder, QUANTIZED_EXPORT);
  if (existsSync(path)) return { path, matmuls: Number.NaN, skipped: Number.NaN, made: false };
  return { ...quantizeExport(folder), made: true };
}
