import { fuzzRuns } from '@vitkit/test-support';
import fc from 'fast-check';
import { unzipSync, zipSync } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import { type FakeTensor, PickleWriter, torchSaveArchive, writeTensorRecord } from '../hub/test-support/pickle-bytes.js';
import { readPytorchBin } from './pytorch-bin.js';
import { FuzzOutcomes } from './test-support/fuzz-outcome.js';
import { concat, zipBytes } from './test-support/zip-writer.js';

// Zip directory, pickle and tensor records of a torch.save archive: every input ends in tensors or
// a VitkitError, never another exception, a hang or memory beyond a bound.
const RUNS = fuzzRuns(800);
const outcomes = new FuzzOutcomes();

afterAll(() => {
  console.info(
    `pytorch_model.bin fuzz: ${JSON.stringify(Object.fromEntries(outcomes.codes))}, slowest ${outcomes.slowestMs.toFixed(1)} ms`,
  );
  expect(outcomes.slowestMs).toBeLessThan(1000);
  expect(outcomes.peakRssGrowth()).toBeLessThan(512 * 2 ** 20);
});

/** Parses `bytes`; on success, the tensors together stay within a fixed multiple of what the archive can hold. */
function check(bytes: Uint8Array, deflated = false): void {
  const tensors = outcomes.run(() => readPytorchBin(bytes, 'fuzz.bin'));
  if (!tensors) return;
  let total = 0;
  for (const t of tensors.values()) total += t.data.byteLength;
  // 4× for views sharing storages; a deflated storage may inflate to ~1032× its bytes.
  expect(total).toBeLessThanOrEqual(4 * bytes.byteLength * (deflated ? 1032 : 1));
}

const STORAGE_CLASSES = ['FloatStorage', 'HalfStorage', 'BFloat16Storage', 'LongStorage', 'ByteStorage', 'BoolStorage', 'DoubleStorage'];
const dim = fc.oneof(
  { arbitrary: fc.nat(6), weight: 6 },
  fc.constantFrom(0, 1000, 30000, 2 ** 31, 2 ** 53),
  fc.integer({ min: -3, max: -1 }),
);
/** Shape and strides, mostly of one rank (else the record is refused before anything interesting). */
const layout = fc.array(dim, { maxLength: 4 }).chain((shape) =>
  fc.record({
    shape: fc.constant(shape),
    stride: fc.oneof(
      { arbitrary: fc.array(dim, { minLength: shape.length, maxLength: shape.length }), weight: 6 },
      fc.array(dim, { maxLength: 4 }),
    ),
  }),
);
const fakeTensor: fc.Arbitrary<FakeTensor> = fc
  .record({
    storageClass: fc.oneof(
      { arbitrary: fc.constantFrom(...STORAGE_CLASSES), weight: 8 },
      fc.constantFrom('UntypedStorage', 'os.system', 'Nope'),
    ),
    storageKey: fc.oneof({ arbitrary: fc.constantFrom('0', '1', '2'), weight: 8 }, fc.constant('missing')),
    storageBytes: fc.uint8Array({ maxLength: 96 }),
    offset: fc.oneof({ arbitrary: fc.nat(8), weight: 6 }, dim),
    layout: fc.oneof(
      { arbitrary: layout, weight: 8 },
      // Broadcasts: large dimensions over stride 0, which reach one element of any storage.
      fc.array(fc.constantFrom(1000, 30000), { minLength: 1, maxLength: 3 }).map((shape) => ({ shape, stride: shape.map(() => 0) })),
    ),
  })
  .map(({ layout: { shape, stride }, ...t }) => ({ ...t, shape, stride, storageNumel: t.storageBytes.byteLength }));

// A long run (`pnpm fuzz`) takes minutes a property; the default timeout is for CI's few thousand.
describe('readPytorchBin fuzz', { timeout: 120_000 + 10 * RUNS }, () => {
  it('survives arbitrary bytes behind a zip signature', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (tail) => check(Uint8Array.from([0x50, 0x4b, 0x03, 0x04, ...tail]))),
      { numRuns: RUNS },
    );
  });

  it('survives arbitrary tensor records (shapes, strides, offsets, storages), stored or deflated', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ maxLength: 4 }), fakeTensor, { maxKeys: 4 }),
        fc.constantFrom<'little' | 'big'>('little', 'big'),
        fc.boolean(),
        (tensors, byteorder, deflate) => {
          let archive = torchSaveArchive(tensors, { byteorder });
          if (deflate) archive = zipSync(Object.fromEntries(Object.entries(unzipSync(archive)).map(([k, v]) => [k, [v, { level: 6 }]])));
          check(archive, deflate);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('survives damage to a valid archive, aimed at its directory: bytes, 16/32/64-bit fields, cuts', () => {
    const base = torchSaveArchive({
      a: {
        storageClass: 'FloatStorage',
        storageKey: '0',
        storageBytes: new Uint8Array(24),
        storageNumel: 6,
        offset: 0,
        shape: [2, 3],
        stride: [3, 1],
      },
      b: {
        storageClass: 'LongStorage',
        storageKey: '1',
        storageBytes: new Uint8Array(16),
        storageNumel: 2,
        offset: 1,
        shape: [1],
        stride: [1],
      },
    });
    const field = fc.constantFrom(0, 1, 0xff, 0xffff, 0xffffffff, 2 ** 31, 30, 46);
    const write = fc.record({
      // Most damage lands in the last 160 bytes: the central directory and end records.
      at: fc.oneof(fc.nat(base.byteLength - 1), fc.integer({ min: base.byteLength - 160, max: base.byteLength - 1 })),
      width: fc.constantFrom(1, 2, 4, 8),
      value: fc.oneof(field, fc.nat()),
    });
    fc.assert(
      fc.property(fc.array(write, { minLength: 1, maxLength: 4 }), fc.option(fc.nat(), { freq: 3 }), (writes, cut) => {
        let bytes = new Uint8Array(base);
        const v = new DataView(bytes.buffer);
        for (const { at, width, value } of writes) {
          const p = Math.min(at, bytes.byteLength - width);
          if (width === 1) v.setUint8(p, value & 0xff);
          else if (width === 2) v.setUint16(p, value & 0xffff, true);
          else if (width === 4) v.setUint32(p, value >>> 0, true);
          else v.setBigUint64(p, BigInt(value), true);
        }
        if (cut !== null) bytes = bytes.subarray(0, cut % (bytes.byteLength + 1));
        check(bytes);
      }),
      { numRuns: RUNS },
    );
  });

  it('survives arbitrary pickle opcode streams, with real tensor records among them', () => {
    const text = fc.string({ maxLength: 12 });
    const u32 = fc.oneof(fc.nat(40), fc.constantFrom(0xffffffff, 2 ** 31, 300_000));
    const op: fc.Arbitrary<(p: PickleWriter) => void> = fc.oneof(
      fc
        .constantFrom(
          0x28,
          0x74,
          0x6c,
          0x64,
          0x65,
          0x75,
          0x61,
          0x73,
          0x30,
          0x31,
          0x32,
          0x4e,
          0x88,
          0x89,
          0x5d,
          0x7d,
          0x29,
          0x85,
          0x86,
          0x87,
          0x52,
          0x62,
          0x51,
          0x94,
          0x2e,
          0x93,
        )
        .map((code) => (p: PickleWriter) => void p.raw(code)),
      fc.nat(255).map((n) => (p: PickleWriter) => void p.raw(n)),
      fc.integer().map((n) => (p: PickleWriter) => void p.int(n)),
      fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }).map((n) => (p: PickleWriter) => void p.long1(n)),
      fc.tuple(fc.constantFrom(0x8b, 0x58, 0x42, 0x54, 0x95, 0x72, 0x6a), u32, fc.uint8Array({ maxLength: 8 })).map(
        ([code, n, tail]) =>
          (p: PickleWriter) =>
            void p.raw(code, n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24, ...tail),
      ),
      text.map((s) => (p: PickleWriter) => void p.str(s)),
      fc.nat(300).map((n) => (p: PickleWriter) => void p.get(n)),
      fc.nat(300).map((n) => (p: PickleWriter) => void p.put(n)),
      fc
        .tuple(
          fc.constantFrom('torch._utils', 'torch', 'collections', 'torch._tensor', 'os'),
          fc.constantFrom(
            '_rebuild_tensor_v2',
            '_rebuild_parameter',
            'FloatStorage',
            'OrderedDict',
            '_rebuild_from_type_v2',
            'Tensor',
            'system',
            'float32',
          ),
        )
        .map(
          ([m, n]) =>
            (p: PickleWriter) =>
              void p.global(m, n),
        ),
      // A list holding itself as _rebuild_from_type_v2's arguments.
      fc.constant((p: PickleWriter) => {
        p.global('torch._tensor', '_rebuild_from_type_v2').emptyList().put(250).mark();
        p.global('torch._tensor', '_rebuild_from_type_v2').global('torch', 'Tensor').get(250).appends().reduce();
      }),
      // One tensor record exactly as torchSaveArchive writes it.
      fakeTensor.map((t) => (p: PickleWriter) => void writeTensorRecord(p, t)),
    );
    // Now and then one large item: a long integer, string or line, or a long run of values.
    const large = fc
      .tuple(fc.constantFrom('long4', 'binstring', 'global', 'appends'), fc.integer({ min: 20_000, max: 300_000 }))
      .map(([kind, n]) => {
        const u32 = [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];
        const run = (byte: number) => new Uint8Array(n).fill(byte);
        if (kind === 'long4') return concat([Uint8Array.of(0x8b, ...u32), run(0x5a)]);
        if (kind === 'binstring') return concat([Uint8Array.of(0x54, ...u32), run(0x41)]);
        if (kind === 'global') return concat([Uint8Array.of(0x63), run(0x41), Uint8Array.of(0x0a, 0x41, 0x0a)]);
        return concat([Uint8Array.of(0x5d, 0x28), run(0x4e), Uint8Array.of(0x65)]);
      });
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 40 }),
        fc.boolean(),
        fc.oneof({ arbitrary: fc.constant(undefined), weight: 30 }, large),
        (ops, asDict, big) => {
          const p = new PickleWriter().proto(2);
          if (asDict) p.global('collections', 'OrderedDict').tupleN(0).reduce().mark();
          for (const emit of ops) emit(p);
          if (asDict) p.setitems();
          const pickle = concat([p.bytes(), big ?? new Uint8Array(0), Uint8Array.of(0x2e)]); // ... STOP
          check(
            zipBytes([
              { name: 'archive/data.pkl', data: pickle },
              { name: 'archive/data/0', data: new Uint8Array(64) },
              { name: 'archive/data/1', data: new Uint8Array(8) },
            ]),
          );
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('survives arbitrary zip end records: entry counts, sizes and offsets, zip64 or not', () => {
    // Zeros often: a reader that walks claimed entries finds "valid" empty ones in them and keeps going.
    const filler = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc.nat(64).map((n) => new Uint8Array(n)),
    );
    const n64 = fc.oneof(fc.nat(200), fc.constantFrom(2n ** 32n - 1n, 2n ** 64n - 1n, 10_000_000n).map(Number), fc.nat());
    fc.assert(
      fc.property(fc.boolean(), n64, n64, n64, n64, filler, (zip64, count, size, offset, recordAt, filler) => {
        const out = new Uint8Array(4 + filler.byteLength + 56 + 20 + 22);
        const v = new DataView(out.buffer);
        v.setUint32(0, 0x04034b50, true);
        out.set(filler, 4);
        const z = 4 + filler.byteLength;
        v.setUint32(z, 0x06064b50, true);
        v.setBigUint64(z + 32, BigInt(count), true);
        v.setBigUint64(z + 40, BigInt(size), true);
        v.setBigUint64(z + 48, BigInt(offset), true);
        v.setUint32(z + 56, 0x07064b50, true);
        // The locator points at the zip64 record, mostly: that is where a reader trusts the counts.
        v.setBigUint64(z + 64, BigInt(recordAt % 4 === 0 ? recordAt % (z + 1) : z), true);
        const e = z + 76;
        v.setUint32(e, 0x06054b50, true);
        v.setUint16(e + 8, zip64 ? 0xffff : count & 0xffff, true);
        v.setUint16(e + 10, zip64 ? 0xffff : count & 0xffff, true);
        v.setUint32(e + 12, zip64 ? 0xffffffff : size >>> 0, true);
        v.setUint32(e + 16, zip64 ? 0xffffffff : offset >>> 0, true);
        check(out);
      }),
      { numRuns: RUNS },
    );
  });
});
