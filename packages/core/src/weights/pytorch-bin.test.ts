import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorOf } from '@vitkit/test-support';
import { unzipSync, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { isVitkitError } from '../errors/vitkit-error.js';
import { type FakeTensor, PickleWriter, torchSaveArchive } from '../hub/test-support/pickle-bytes.js';
import { readPytorchBin } from './pytorch-bin.js';
import { readSafetensors } from './safetensors.js';

const CASE = new URL('../../../../fixtures/dinov2/pytorch-bin/', import.meta.url).pathname;

function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

function floatStorage(key: string, values: number[]): Pick<FakeTensor, 'storageClass' | 'storageKey' | 'storageBytes' | 'storageNumel'> {
  return { storageClass: 'FloatStorage', storageKey: key, storageBytes: bytesOf(Float32Array.from(values)), storageNumel: values.length };
}

describe('readPytorchBin on the torch.save fixture', () => {
  it('loads every tensor bit-identical to the same checkpoint in safetensors', () => {
    const fromBin = readPytorchBin(new Uint8Array(readFileSync(join(CASE, 'pytorch_model.bin'))), 'pytorch_model.bin');
    const fromSafetensors = readSafetensors(new Uint8Array(readFileSync(join(CASE, 'model.safetensors')))).tensors;
    expect([...fromBin.keys()].sort()).toEqual([...fromSafetensors.keys()].sort());
    expect(fromSafetensors.size).toBeGreaterThan(10);
    for (const [name, expected] of fromSafetensors) {
      const actual = fromBin.get(name)!;
      expect(actual.dtype, name).toBe(expected.dtype);
      expect(actual.shape, name).toEqual(expected.shape);
      expect(Buffer.from(bytesOf(actual.data)).equals(Buffer.from(bytesOf(expected.data))), name).toBe(true);
    }
  });

  it('throws ZIP_INVALID for the fixture cut short anywhere', () => {
    const full = new Uint8Array(readFileSync(join(CASE, 'pytorch_model.bin')));
    for (const keep of [10, 1000, full.length / 2, full.length - 30, full.length - 1]) {
      const error = errorOf(() => readPytorchBin(full.subarray(0, Math.floor(keep)), 'cut.bin'));
      expect(isVitkitError(error, 'ZIP_INVALID'), `kept ${keep} bytes`).toBe(true);
    }
  });
});

describe('readPytorchBin on hand-built archives', () => {
  it('makes transposed (non-contiguous) tensors contiguous and honours storage offsets', () => {
    // Storage [0..11]; "t" is a 3x2 view with strides (1, 3) starting at element 2: the transpose of
    // the 2x3 matrix [[2,3,4],[5,6,7]]. "tail" shares the storage from element 8.
    const storage = floatStorage('0', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    const archive = torchSaveArchive({
      t: { ...storage, offset: 2, shape: [3, 2], stride: [1, 3] },
      tail: { ...storage, offset: 8, shape: [2, 2], stride: [2, 1] },
      scalar: { ...storage, offset: 11, shape: [], stride: [] },
    });
    const tensors = readPytorchBin(archive, 'strided.bin');
    expect(Array.from(tensors.get('t')!.data as Float32Array)).toEqual([2, 5, 3, 6, 4, 7]);
    expect(tensors.get('t')!.shape).toEqual([3, 2]);
    expect(Array.from(tensors.get('tail')!.data as Float32Array)).toEqual([8, 9, 10, 11]);
    expect(Array.from(tensors.get('scalar')!.data as Float32Array)).toEqual([11]);
  });

  it('keeps bfloat16 and float16 as their 16-bit patterns, and reads int64', () => {
    const bf16 = Uint16Array.from([0x3f80, 0xc000, 0x7f80]); // 1, -2, inf
    const f16 = Uint16Array.from([0x3c00, 0xc000, 0x7c00]);
    const i64 = BigInt64Array.from([1n, -2n, 2n ** 40n]);
    const archive = torchSaveArchive({
      bf: {
        storageClass: 'BFloat16Storage',
        storageKey: '0',
        storageBytes: bytesOf(bf16),
        storageNumel: 3,
        offset: 0,
        shape: [3],
        stride: [1],
      },
      h: { storageClass: 'HalfStorage', storageKey: '1', storageBytes: bytesOf(f16), storageNumel: 3, offset: 0, shape: [3], stride: [1] },
      ids: {
        storageClass: 'LongStorage',
        storageKey: '2',
        storageBytes: bytesOf(i64),
        storageNumel: 3,
        offset: 0,
        shape: [3],
        stride: [1],
      },
    });
    const tensors = readPytorchBin(archive, 'half.bin');
    expect(tensors.get('bf')!.dtype).toBe('bfloat16');
    expect(Array.from(tensors.get('bf')!.data as Uint16Array)).toEqual(Array.from(bf16));
    expect(tensors.get('h')!.dtype).toBe('float16');
    expect(Array.from(tensors.get('h')!.data as Uint16Array)).toEqual(Array.from(f16));
    expect(Array.from(tensors.get('ids')!.data as BigInt64Array)).toEqual(Array.from(i64));
  });

  it('byte-swaps storages of an archive written on a big-endian machine', () => {
    const little = bytesOf(Float32Array.from([1.5, -3]));
    const big = new Uint8Array(little);
    for (let i = 0; i < big.length; i += 4) big.subarray(i, i + 4).reverse();
    const archive = torchSaveArchive(
      { w: { storageClass: 'FloatStorage', storageKey: '0', storageBytes: big, storageNumel: 2, offset: 0, shape: [2], stride: [1] } },
      { byteorder: 'big' },
    );
    expect(Array.from(readPytorchBin(archive, 'be.bin').get('w')!.data as Float32Array)).toEqual([1.5, -3]);
  });

  it('refuses strides that reach outside the storage', () => {
    const archive = torchSaveArchive({ w: { ...floatStorage('0', [1, 2, 3, 4]), offset: 1, shape: [2, 2], stride: [2, 1] } });
    expect(
      isVitkitError(
        errorOf(() => readPytorchBin(archive, 'oob.bin')),
        'WEIGHTS_TRUNCATED',
      ),
    ).toBe(true);
  });

  it('names a storage the archive lacks', () => {
    const archive = torchSaveArchive({ w: { ...floatStorage('0', [1, 2]), offset: 0, shape: [2], stride: [1] } });
    const entries = Object.fromEntries([...readZipEntries(archive)].filter(([name]) => !name.endsWith('/data/0')));
    const error = errorOf(() => readPytorchBin(zipSync(entries), 'missing.bin'));
    expect(isVitkitError(error, 'ZIP_INVALID')).toBe(true);
    expect((error as Error).message).toContain('storage 0');
  });

  it('refuses an archive whose pickle names os.system, without calling anything', () => {
    const pickle = new PickleWriter()
      .proto(2)
      .global('os', 'system')
      .binunicode('echo owned > /tmp/vitkit-owned')
      .tupleN(1)
      .reduce()
      .stop()
      .bytes();
    const archive = zipSync({
      'archive/data.pkl': [pickle, { level: 0 }],
      'archive/version': [new TextEncoder().encode('3\n'), { level: 0 }],
    });
    const error = errorOf(() => readPytorchBin(archive, 'evil.bin'));
    expect(isVitkitError(error, 'PICKLE_FORBIDDEN_GLOBAL')).toBe(true);
    expect((error as Error).message).toContain('os.system');
  });

  it('says a legacy (pre-zip) torch.save file is unsupported, and rejects non-zips', () => {
    // Legacy files start with a pickled magic number, so their first byte is PROTO.
    const legacy = new PickleWriter().proto(2).long1(0x1950a86a20f9469cfc6cn).stop().bytes();
    expect(
      isVitkitError(
        errorOf(() => readPytorchBin(legacy, 'old.bin')),
        'WEIGHTS_DTYPE_UNSUPPORTED',
      ),
    ).toBe(true);
    expect(
      isVitkitError(
        errorOf(() => readPytorchBin(new TextEncoder().encode('<html>'), 'page.bin')),
        'ZIP_INVALID',
      ),
    ).toBe(true);
  });

  it('rejects a zip that is not a torch.save archive', () => {
    const archive = zipSync({ 'readme.txt': new TextEncoder().encode('hi') });
    expect(
      isVitkitError(
        errorOf(() => readPytorchBin(archive, 'other.zip')),
        'ZIP_INVALID',
      ),
    ).toBe(true);
  });
});

function readZipEntries(archive: Uint8Array): Map<string, Uint8Array> {
  // fflate's own reader, independent of the code under test's wrapper.
  return new Map(Object.entries(unzipSync(archive)));
}
