import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorOf } from '@vitkit/test-support';
import { deflateSync, unzipSync, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { isVitkitError } from '../errors/vitkit-error.js';
import { type FakeTensor, PickleWriter, torchSaveArchive } from '../hub/test-support/pickle-bytes.js';
import { readPytorchBin } from './pytorch-bin.js';
import { readSafetensors } from './safetensors.js';
import { zipBytes } from './test-support/zip-writer.js';

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

describe('readPytorchBin: hostile archives', () => {
  const codeOfRead = (bytes: Uint8Array) => {
    const error = errorOf(() => readPytorchBin(bytes, 'hostile.bin'));
    return isVitkitError(error) ? error.code : `not a VitkitError: ${String(error)}`;
  };

  /** A zip header, then a zip64 end record claiming `entries` entries in an empty central directory. */
  function zip64Claiming(entries: bigint): Uint8Array {
    const out = new Uint8Array(30 + 56 + 20 + 22);
    const v = new DataView(out.buffer);
    v.setUint32(0, 0x04034b50, true);
    v.setUint32(30, 0x06064b50, true);
    v.setBigUint64(34, 44n, true);
    v.setBigUint64(54, entries, true);
    v.setBigUint64(62, entries, true);
    v.setUint32(86, 0x07064b50, true);
    v.setBigUint64(94, 30n, true);
    v.setUint32(106, 0x06054b50, true);
    v.setUint16(114, 0xffff, true);
    v.setUint16(116, 0xffff, true);
    v.setUint32(118, 0xffffffff, true);
    v.setUint32(122, 0xffffffff, true);
    return out;
  }

  it('bounds a zip64 directory entry count by the directory size before iterating (10⁷ took 3 s; 2³²−1 hung)', () => {
    const started = performance.now();
    expect(codeOfRead(zip64Claiming(10_000_000n))).toBe('ZIP_INVALID');
    expect(performance.now() - started).toBeLessThan(500);
    expect(codeOfRead(zip64Claiming(2n ** 32n - 1n))).toBe('ZIP_INVALID');
    expect(codeOfRead(zip64Claiming(2n ** 64n - 1n))).toBe('ZIP_INVALID');
  });

  it('caps a view by what the archive could hold: stride 0 over 16 bytes declaring 10⁶ or 9·10⁸ elements', () => {
    // 30000×30000 took 72 s and 3.5 GB; 1000×1000 is 4 MB from a ~700-byte file.
    for (const shape of [
      [1000, 1000],
      [30000, 30000],
    ]) {
      const archive = torchSaveArchive({ w: { ...floatStorage('0', [1, 2, 3, 4]), offset: 0, shape, stride: [0, 0] } });
      expect(codeOfRead(archive), `shape ${shape}`).toBe('PICKLE_INVALID');
    }
    // A broadcast that fits (HF's position_ids are arange(n).expand(1, -1)) still loads.
    const fits = torchSaveArchive({ w: { ...floatStorage('0', [1, 2, 3, 4]), offset: 1, shape: [3, 2], stride: [0, 1] } });
    expect(Array.from(readPytorchBin(fits).get('w')!.data as Float32Array)).toEqual([2, 3, 2, 3, 2, 3]);
  });

  it('caps the views of one storage all together', () => {
    // Each view fits the file alone; 40 of them ask for far more than it holds.
    const storage = floatStorage('0', new Array(64).fill(1));
    const views: Record<string, FakeTensor> = {};
    for (let i = 0; i < 40; i++) views[`v${i}`] = { ...storage, offset: 0, shape: [8, 64], stride: [0, 1] };
    expect(codeOfRead(torchSaveArchive(views))).toBe('PICKLE_INVALID');
  });

  it('refuses a _rebuild_from_type_v2 whose arguments contain themselves, without a stack overflow', () => {
    const p = new PickleWriter().proto(2).global('torch._tensor', '_rebuild_from_type_v2');
    p.emptyList().put(1).mark().global('torch._tensor', '_rebuild_from_type_v2').global('torch', 'Tensor').get(1).appends();
    const archive = zipSync({ 'archive/data.pkl': [p.reduce().stop().bytes(), { level: 0 }] });
    expect(codeOfRead(archive)).toBe('PICKLE_INVALID');
  });

  const pickleOf = (archive: Uint8Array) => readZipEntries(archive).get('archive/data.pkl')!;

  it('inflates only the entries a tensor needs (unreferenced deflated entries are never read)', () => {
    // Each unreferenced entry declares 100 MB and is not even valid deflate: inflating them all
    // (1 MB of archive reached 1 GB of memory) would fail or exhaust memory; skipping them cannot.
    const tensors = { w: { ...floatStorage('0', [1, 2, 3]), offset: 0, shape: [3], stride: [1] } };
    const garbage = new Uint8Array(100_000).fill(0xff);
    const archive = zipBytes([
      { name: 'archive/data.pkl', data: pickleOf(torchSaveArchive(tensors)) },
      { name: 'archive/data/0', data: bytesOf(Float32Array.of(1, 2, 3)) },
      ...Array.from({ length: 10 }, (_, i) => ({
        name: `archive/extra/${i}`,
        data: garbage,
        method: 8 as const,
        declaredSize: 100_000_000,
      })),
    ]);
    expect(Array.from(readPytorchBin(archive).get('w')!.data as Float32Array)).toEqual([1, 2, 3]);
  });

  it('reads deflated storages, refusing one that inflates past its declared size', () => {
    const tensors = { w: { ...floatStorage('0', [1, 2, 3, 4]), offset: 0, shape: [4], stride: [1] } };
    const pickle = pickleOf(torchSaveArchive(tensors));
    const values = bytesOf(Float32Array.of(1, 2, 3, 4));
    const deflated = deflateSync(values);
    const archive = (declaredSize: number, data = deflated) =>
      zipBytes([
        { name: 'archive/data.pkl', data: pickle },
        { name: 'archive/data/0', data, method: 8, declaredSize },
      ]);
    expect(Array.from(readPytorchBin(archive(16)).get('w')!.data as Float32Array)).toEqual([1, 2, 3, 4]);
    // 16 bytes declared, a 10 MB bomb inside: stopped at the declared size, not inflated whole.
    expect(codeOfRead(archive(16, deflateSync(new Uint8Array(10_000_000))))).toBe('ZIP_INVALID');
    // Declared larger than the stream inflates to: the entry is damaged.
    expect(codeOfRead(archive(32))).toBe('ZIP_INVALID');
    // Declared beyond anything deflate can produce from its bytes: refused before inflating.
    expect(codeOfRead(archive(1e12))).toBe('ZIP_INVALID');
  });
});
