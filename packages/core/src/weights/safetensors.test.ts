import { codeOf, readFixtureTensors } from '@vitkit/test-support';
import { describe, expect, it } from 'vitest';
import type { VitkitError } from '../errors/vitkit-error.js';
import { Tensor } from '../tensor/tensor.js';
import { MAX_SAFETENSORS_TENSORS, readSafetensors, safetensorsHeader, writeSafetensors } from './safetensors.js';

function fileWithHeader(header: unknown, dataBytes: number, lengthOverride?: bigint): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

describe('readSafetensors', () => {
  it('reads every dtype Hugging Face checkpoints use, round-tripping through the writer', () => {
    const tensors = {
      f32: new Tensor('float32', Float32Array.of(1.5, -2), [2]),
      f16: new Tensor('float16', Uint16Array.of(0x3c00), [1, 1]),
      bf16: new Tensor('bfloat16', Uint16Array.of(0x3f80, 0xc000), [2]),
      f64: new Tensor('float64', Float64Array.of(Math.PI), [1]),
      i64: new Tensor('int64', BigInt64Array.of(-5n, 7n), [2]),
      i32: new Tensor('int32', Int32Array.of(-3), [1]),
      i16: new Tensor('int16', Int16Array.of(300), [1]),
      i8: new Tensor('int8', Int8Array.of(-8), [1]),
      u8: new Tensor('uint8', Uint8Array.of(255, 0, 1), [3]),
      flag: new Tensor('bool', Uint8Array.of(1, 0), [2]),
    };
    const file = readSafetensors(writeSafetensors(tensors, { format: 'pt' }));
    expect(file.metadata).toEqual({ format: 'pt' });
    for (const [name, t] of Object.entries(tensors)) {
      const back = file.tensors.get(name)!;
      expect(back.dtype).toBe(t.dtype);
      expect(back.shape).toEqual(t.shape);
      expect(Array.from(back.data as ArrayLike<number | bigint>)).toEqual(Array.from(t.data as ArrayLike<number | bigint>));
    }
  });

  it('gives zero-copy views into the file for aligned tensors', () => {
    const bytes = writeSafetensors({ a: new Tensor('float32', new Float32Array(4), [4]) });
    const t = readSafetensors(bytes).tensors.get('a')!;
    expect(t.data.buffer).toBe(bytes.buffer);
  });

  it('reads a reference checkpoint written by save_pretrained', () => {
    const t = readFixtureTensors('dinov2/default-res/model.safetensors');
    expect(t.get('embeddings.cls_token')?.shape).toEqual([1, 1, 32]);
  });

  it('refuses a truncated file', () => {
    const good = writeSafetensors({ w: new Tensor('float32', new Float32Array(16), [4, 4]) });
    expect(codeOf(() => readSafetensors(good.subarray(0, good.length - 3)))).toBe('WEIGHTS_TRUNCATED');
    expect(codeOf(() => readSafetensors(good.subarray(0, 5)))).toBe('WEIGHTS_TRUNCATED');
    expect(codeOf(() => readSafetensors(good.subarray(0, 20)))).toBe('WEIGHTS_TRUNCATED');
  });

  it('refuses overlapping offsets', () => {
    const header = {
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
    };
    expect(codeOf(() => readSafetensors(fileWithHeader(header, 12)))).toBe('WEIGHTS_OFFSETS_INVALID');
  });

  it('refuses offsets that run past the end of the data', () => {
    const header = { a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } };
    expect(codeOf(() => readSafetensors(fileWithHeader(header, 8)))).toBe('WEIGHTS_TRUNCATED');
  });

  it('refuses offsets that disagree with dtype and shape', () => {
    const header = { a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } };
    expect(codeOf(() => readSafetensors(fileWithHeader(header, 8)))).toBe('WEIGHTS_OFFSETS_INVALID');
  });

  it('refuses an oversized header length before allocating anything', () => {
    expect(codeOf(() => readSafetensors(fileWithHeader({}, 0, 2n ** 60n)))).toBe('WEIGHTS_HEADER_TOO_LARGE');
  });

  it('refuses an unknown dtype, naming it', () => {
    const header = { a: { dtype: 'F8_E4M3X', shape: [1], data_offsets: [0, 1] } };
    let err: VitkitError | undefined;
    try {
      readSafetensors(fileWithHeader(header, 1));
    } catch (e) {
      err = e as VitkitError;
    }
    expect(err?.code).toBe('WEIGHTS_DTYPE_UNSUPPORTED');
    expect(err?.message).toContain('F8_E4M3X');
  });

  it('refuses a header that is not JSON', () => {
    const bytes = fileWithHeader({}, 0);
    bytes[8] = 0x7b;
    bytes[9] = 0x7b;
    expect(codeOf(() => readSafetensors(bytes))).toBe('WEIGHTS_HEADER_INVALID');
  });
});

describe('readSafetensors: hostile headers', () => {
  function manyTensors(count: number): Uint8Array {
    const parts: string[] = [];
    for (let i = 0; i < count; i++) parts.push(`"t${i}":{"dtype":"U8","shape":[1],"data_offsets":[${i},${i + 1}]}`);
    return fileWithHeader(JSON.parse(`{${parts.join(',')}}`), count);
  }

  it('refuses a header listing more tensors than any checkpoint, before parsing it (1.2M took 7 s and 1.6 GB)', () => {
    const bytes = manyTensors(MAX_SAFETENSORS_TENSORS + 10);
    expect(codeOf(() => readSafetensors(bytes))).toBe('WEIGHTS_HEADER_TOO_LARGE');
  });

  it('still reads a header of many small tensors under the bound', () => {
    expect(readSafetensors(manyTensors(5000)).tensors.size).toBe(5000);
  });
});

describe('safetensorsHeader', () => {
  it('opens the same file writeSafetensors writes, so tensors can be streamed after it one at a time', () => {
    const tensors = {
      'a.bias': new Tensor('float16', new Uint16Array([1, 2, 3]), [3]),
      'b.weight': new Tensor('float32', Float32Array.of(1.5, -2, 3, 4, 5, 6), [2, 3]),
      'c.ids': new Tensor('int64', BigInt64Array.of(7n), [1]),
    };
    const whole = writeSafetensors(tensors, { format: 'pt' });
    const names = Object.keys(tensors).sort() as (keyof typeof tensors)[];
    const header = safetensorsHeader(
      names.map((name) => ({ name, dtype: tensors[name].dtype, shape: tensors[name].shape })),
      { format: 'pt' },
    );
    expect(header.byteLength % 8).toBe(0); // data starts 8-byte aligned
    expect(Array.from(whole.subarray(0, header.byteLength))).toEqual(Array.from(header));
    const back = readSafetensors(whole).tensors;
    expect(Array.from(back.get('b.weight')?.data as Float32Array)).toEqual([1.5, -2, 3, 4, 5, 6]);
  });
});
