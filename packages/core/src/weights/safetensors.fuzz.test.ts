import { fuzzRuns } from '@vitkit/test-support';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { BYTES_PER_ELEMENT } from '../tensor/dtype.js';
import { shapeSize, Tensor } from '../tensor/tensor.js';
import { readSafetensors, writeSafetensors } from './safetensors.js';
import { FuzzOutcomes } from './test-support/fuzz-outcome.js';

// Every input ends in tensors or a VitkitError: never another exception, a hang or unbounded memory.
const RUNS = fuzzRuns(1000);
const outcomes = new FuzzOutcomes();

afterAll(() => {
  console.info(`safetensors fuzz: ${JSON.stringify(Object.fromEntries(outcomes.codes))}, slowest ${outcomes.slowestMs.toFixed(1)} ms`);
  expect(outcomes.slowestMs).toBeLessThan(1000);
  expect(outcomes.peakRssGrowth()).toBeLessThan(512 * 2 ** 20);
});

/** Parses `bytes`; on success, checks every tensor is what its header said and lies inside the file. */
function check(bytes: Uint8Array): void {
  const file = outcomes.run(() => readSafetensors(bytes, 'fuzz.safetensors'));
  if (!file) return;
  let total = 0;
  for (const t of file.tensors.values()) {
    expect(t.data.byteLength).toBe(shapeSize(t.shape) * BYTES_PER_ELEMENT[t.dtype]);
    total += t.data.byteLength;
  }
  // Tensors never overlap, so together they fit in the file.
  expect(total).toBeLessThanOrEqual(bytes.byteLength);
}

function withHeader(header: string, dataBytes: number, claimedLength?: bigint): Uint8Array {
  const json = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + json.byteLength + dataBytes);
  new DataView(out.buffer).setBigUint64(0, claimedLength ?? BigInt(json.byteLength), true);
  out.set(json, 8);
  return out;
}

const dtype = fc.oneof(fc.constantFrom('F32', 'F16', 'BF16', 'F64', 'I64', 'I32', 'I16', 'I8', 'U8', 'BOOL'), fc.string({ maxLength: 6 }));
const number = fc.oneof(
  fc.nat(64),
  fc.integer(),
  fc.constantFrom(-1, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, 1e308, 0.5, Number.MAX_SAFE_INTEGER),
);
const entry = fc.oneof(
  fc.record({ dtype, shape: fc.array(number, { maxLength: 5 }), data_offsets: fc.array(number, { maxLength: 3 }) }),
  fc.jsonValue({ maxDepth: 3 }),
);
const header = fc.oneof(
  fc.dictionary(fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('__metadata__', '__proto__', 'constructor')), entry, { maxKeys: 8 }),
  fc.jsonValue({ maxDepth: 3 }),
);

// A long run (`pnpm fuzz`) takes minutes a property; the default timeout is for CI's few thousand.
describe('readSafetensors fuzz', { timeout: 120_000 + 10 * RUNS }, () => {
  it('survives arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => check(bytes)),
      { numRuns: RUNS },
    );
  });

  it('survives arbitrary headers over arbitrary data, with true or false length prefixes', () => {
    const claimed = fc.oneof({ arbitrary: fc.constant(undefined), weight: 4 }, fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }));
    fc.assert(
      fc.property(header, fc.nat(512), claimed, (h, dataBytes, length) => check(withHeader(JSON.stringify(h), dataBytes, length))),
      { numRuns: RUNS },
    );
  });

  it('survives plausible headers: consistent entries with a few fields made wrong', () => {
    const tensor = fc.record({
      name: fc.string({ maxLength: 6 }),
      dtype: fc.constantFrom('F32', 'F16', 'I64', 'U8', 'BOOL'),
      shape: fc.array(fc.nat(5), { maxLength: 3 }),
      gapBefore: fc.oneof({ arbitrary: fc.constant(0), weight: 4 }, fc.integer({ min: -8, max: 8 })),
      wrong: fc.oneof(
        { arbitrary: fc.constant(undefined), weight: 6 },
        fc.record({ field: fc.constantFrom('shape', 'start', 'end'), value: number }),
      ),
    });
    const size: Record<string, number> = { F32: 4, F16: 2, I64: 8, U8: 1, BOOL: 1 };
    fc.assert(
      fc.property(fc.array(tensor, { maxLength: 6 }), fc.integer({ min: -16, max: 16 }), (tensors, slack) => {
        const h: Record<string, unknown> = {};
        let offset = 0;
        for (const t of tensors) {
          const start = Math.max(0, offset + t.gapBefore);
          const end = start + t.shape.reduce((a, b) => a * b, 1) * size[t.dtype];
          const e = { dtype: t.dtype, shape: [...t.shape], data_offsets: [start, end] };
          if (t.wrong?.field === 'shape') e.shape.push(t.wrong.value);
          if (t.wrong?.field === 'start') e.data_offsets[0] = t.wrong.value;
          if (t.wrong?.field === 'end') e.data_offsets[1] = t.wrong.value;
          h[t.name] = e;
          offset = end;
        }
        check(withHeader(JSON.stringify(h), Math.max(0, offset + slack)));
      }),
      { numRuns: RUNS },
    );
  });

  it('survives damage to a valid file: overwritten bytes, cuts and insertions', () => {
    const tensors = fc.dictionary(
      fc.string({ minLength: 1, maxLength: 6 }),
      fc.tuple(fc.constantFrom('float32', 'int8', 'float16', 'int64'), fc.array(fc.nat(4), { maxLength: 3 })),
      { maxKeys: 4 },
    );
    const damage = fc.record({
      writes: fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 4 }),
      cut: fc.option(fc.nat(), { freq: 2 }),
      insert: fc.option(fc.tuple(fc.nat(), fc.uint8Array({ maxLength: 16 })), { freq: 2 }),
    });
    fc.assert(
      fc.property(tensors, damage, (specs, { writes, cut, insert }) => {
        const map = new Map<string, Tensor>();
        for (const [name, [dt, shape]] of Object.entries(specs)) map.set(name, Tensor.zeros(dt as 'float32', shape));
        let bytes = writeSafetensors(map);
        for (const [at, value] of writes) bytes[at % bytes.byteLength] = value;
        if (insert) {
          const at = insert[0] % (bytes.byteLength + 1);
          bytes = Uint8Array.from([...bytes.subarray(0, at), ...insert[1], ...bytes.subarray(at)]);
        }
        if (cut !== null) bytes = bytes.subarray(0, cut % (bytes.byteLength + 1));
        check(bytes);
      }),
      { numRuns: RUNS },
    );
  });
});
