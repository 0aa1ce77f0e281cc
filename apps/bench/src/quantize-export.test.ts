// The q8 file made for transformers.js: a small export (one weight inline, one in external data, one
// activation × activation MatMul) quantized, then run by onnxruntime-node beside the float model.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cosineSimilarity, onnx } from '@vitkit/core/internal';
import ortModule from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureQuantizedExport, QUANTIZED_EXPORT, quantizeExport } from './quantize-export.js';
import { randomInput } from './random-input.js';

const ort = ortModule as unknown as typeof import('onnxruntime-node');
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const K = 64;
const N = 48;

function weight(seed: number, n: number): Float32Array {
  return randomInput(n + seed)
    .slice(seed)
    .map((v) => v * 0.1);
}

/** y = (x·W1)·W2 and z = y·yᵀ: W1 inline, W2 in onnx/model.onnx_data at an offset. */
function writeExport(dir: string): void {
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  const w1 = weight(3, K * N);
  const w2 = weight(7, N * N);
  const data = new Uint8Array(128 + w2.byteLength);
  data.set(new Uint8Array(w2.buffer), 128);
  writeFileSync(join(dir, 'onnx', 'model.onnx_data'), data);
  const value = (name: string, dims: (number | string)[]) => ({
    name,
    type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 14 }],
    graph: {
      name: 'g',
      input: [value('x', ['b', 5, K])],
      output: [value('y', ['b', 5, N]), value('z', ['b', 5, 5])],
      initializer: [
        { name: 'w1', dataType: FLOAT, dims: [K, N], rawData: new Uint8Array(w1.buffer) },
        {
          name: 'w2',
          dataType: FLOAT,
          dims: [N, N],
          dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
          externalData: [
            { key: 'location', value: 'model.onnx_data' },
            { key: 'offset', value: '128' },
            { key: 'length', value: String(w2.byteLength) },
          ],
        },
      ],
      node: [
        { opType: 'MatMul', name: 'mm1', input: ['x', 'w1'], output: ['h'] },
        { opType: 'MatMul', name: 'mm2', input: ['h', 'w2'], output: ['y'] },
        { opType: 'Transpose', input: ['y'], output: ['yt'], attribute: [{ name: 'perm', type: 7, ints: [0, 2, 1] }] },
        { opType: 'MatMul', name: 'mm3', input: ['y', 'yt'], output: ['z'] },
      ],
    },
  });
  writeFileSync(join(dir, 'onnx', 'model.onnx'), onnx.ModelProto.encode(model).finish());
}

describe('quantizeExport', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vitkit-q8-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  writeExport(dir);

  it('quantizes the MatMuls with a constant B (inline or external) as quantize_dynamic does, and runs close to the float model', async () => {
    const report = quantizeExport(dir);
    expect(report).toMatchObject({ matmuls: 2, skipped: 1 });
    const q = onnx.ModelProto.decode(readFileSync(join(dir, QUANTIZED_EXPORT)));
    const ops = q.graph!.node!.map((n) => n.opType);
    expect(ops.filter((o) => o === 'MatMulInteger')).toHaveLength(2);
    expect(ops.filter((o) => o === 'DynamicQuantizeLinear')).toHaveLength(2);
    expect(ops.filter((o) => o === 'MatMul')).toHaveLength(1); // y·yᵀ stays float
    const inits = new Map(q.graph!.initializer!.map((t) => [t.name, t]));
    expect(inits.has('w1') || inits.has('w2')).toBe(false);
    expect(inits.get('w2_quantized')?.dataType).toBe(onnx.TensorProto.DataType.INT8);
    expect(Array.from(inits.get('w2_zero_point')?.rawData ?? [])).toEqual([0]); // symmetric: zero point 0
    // One protobuf: nothing points at the data file any more.
    expect(q.graph!.initializer!.every((t) => t.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL)).toBe(true);
    // Scale max|W| / 127, and each weight within half a step of its value.
    const w2 = weight(7, N * N);
    const scale = new Float32Array(Uint8Array.from(inits.get('w2_scale')!.rawData!).buffer)[0];
    expect(scale).toBeCloseTo(Math.max(...w2.map(Math.abs)) / 127, 7);
    const q2 = new Int8Array(Uint8Array.from(inits.get('w2_quantized')!.rawData!).buffer);
    for (let i = 0; i < w2.length; i++) expect(Math.abs(q2[i] * scale - w2[i])).toBeLessThanOrEqual(scale / 2 + 1e-7);

    const x = new ort.Tensor('float32', randomInput(2 * 5 * K), [2, 5, K]);
    const float = await ort.InferenceSession.create(join(dir, 'onnx', 'model.onnx'));
    const quant = await ort.InferenceSession.create(join(dir, QUANTIZED_EXPORT));
    const [a, b] = [await float.run({ x }), await quant.run({ x })];
    expect(cosineSimilarity(a.y.data as Float32Array, b.y.data as Float32Array)).toBeGreaterThan(0.999);
    expect(cosineSimilarity(a.z.data as Float32Array, b.z.data as Float32Array)).toBeGreaterThan(0.999);
  });

  it('ensureQuantizedExport leaves an existing file alone', () => {
    writeFileSync(join(dir, QUANTIZED_EXPORT), 'kept');
    expect(ensureQuantizedExport(dir).made).toBe(false);
    expect(readFileSync(join(dir, QUANTIZED_EXPORT), 'utf8')).toBe('kept');
  });
});
