import { errorOf } from '@vitkit/test-support';
import { describe, expect, it, vi } from 'vitest';
import { isVitkitError } from '../errors/vitkit-error.js';
import { PickleWriter } from '../hub/test-support/pickle-bytes.js';
import { PickleGlobal, type UnpicklerOptions, unpickle } from './pickle.js';

/** Options whose handlers record every call, so a test can prove nothing was invoked. */
function spyOptions(
  allowed: string[] = [],
): UnpicklerOptions & { reduce: ReturnType<typeof vi.fn>; persistentLoad: ReturnType<typeof vi.fn> } {
  return {
    source: 'test.pkl',
    allowedGlobals: new Set(allowed),
    reduce: vi.fn((callable: PickleGlobal, args: unknown[]) => ({ called: callable.qualifiedName, args })),
    persistentLoad: vi.fn((pid: unknown) => ({ pid })),
  };
}

describe('unpickle: values', () => {
  it('decodes the scalar, string, container and memo opcodes a state dict uses', () => {
    const p = new PickleWriter().proto(4).emptyDict().put(0).mark();
    p.str('small').int(7);
    p.binunicode('medium').int(1000);
    p.str('negative').int(-5);
    p.str('big').long1(2n ** 70n);
    p.str('negbig').long1(-(2n ** 64n));
    p.str('flags').bool(true).bool(false).none().tupleN(3);
    p.str('list').emptyList().memoize().mark().int(1).int(2).appends();
    p.str('again').get(0);
    p.setitems().stop();
    const value = unpickle(p.bytes(), spyOptions()) as Map<string, unknown>;
    expect(value.get('small')).toBe(7);
    expect(value.get('medium')).toBe(1000);
    expect(value.get('negative')).toBe(-5);
    expect(value.get('big')).toBe(2n ** 70n);
    expect(value.get('negbig')).toBe(-(2n ** 64n));
    expect(value.get('flags')).toEqual([true, false, null]);
    expect(value.get('list')).toEqual([1, 2]);
    // BINGET returns the memoised object itself (the dict), not a copy.
    expect(value.get('again')).toBe(value);
  });

  it('decodes LONG1 values that fit a number as numbers', () => {
    for (const n of [0n, 1n, 127n, 128n, 255n, -1n, -128n, -129n, 2n ** 40n]) {
      const value = unpickle(new PickleWriter().proto(2).long1(n).stop().bytes(), spyOptions());
      expect(value).toBe(Number(n));
    }
  });

  it('hands allowed globals to the caller as names, and REDUCE to the caller handler', () => {
    const options = spyOptions(['collections.OrderedDict']);
    const value = unpickle(new PickleWriter().proto(2).global('collections', 'OrderedDict').tupleN(0).reduce().stop().bytes(), options);
    expect(options.reduce).toHaveBeenCalledTimes(1);
    const [callable, args] = options.reduce.mock.calls[0];
    expect(callable).toBeInstanceOf(PickleGlobal);
    expect(callable.qualifiedName).toBe('collections.OrderedDict');
    expect(args).toEqual([]);
    expect(value).toEqual({ called: 'collections.OrderedDict', args: [] });
  });

  it('resolves STACK_GLOBAL names through the same allow-list', () => {
    const options = spyOptions(['torch.FloatStorage']);
    const value = unpickle(new PickleWriter().proto(4).str('torch').str('FloatStorage').stackGlobal().stop().bytes(), options);
    expect((value as PickleGlobal).qualifiedName).toBe('torch.FloatStorage');
  });
});

describe('unpickle: refusing code execution', () => {
  const hostile: [string, string, (p: PickleWriter) => PickleWriter][] = [
    ['os', 'system', (p) => p.global('os', 'system').str('touch /tmp/pwned').tupleN(1).reduce()],
    ['builtins', 'eval', (p) => p.str('builtins').str('eval').stackGlobal().str('1+1').tupleN(1).reduce()],
    ['subprocess', 'Popen', (p) => p.global('subprocess', 'Popen').mark().str('ls').tuple().tupleN(1).reduce()],
    ['posix', 'system', (p) => p.global('posix', 'system').str('id').tupleN(1).reduce()],
    ['torch', 'load', (p) => p.global('torch', 'load').str('x').tupleN(1).reduce()],
  ];
  for (const [module, name, build] of hostile) {
    it(`refuses ${module}.${name} at the GLOBAL, before any REDUCE`, () => {
      const options = spyOptions(['collections.OrderedDict', 'torch._utils._rebuild_tensor_v2']);
      const bytes = build(new PickleWriter().proto(2)).stop().bytes();
      const error = errorOf(() => unpickle(bytes, options));
      expect(isVitkitError(error, 'PICKLE_FORBIDDEN_GLOBAL')).toBe(true);
      expect((error as Error).message).toContain(`${module}.${name}`);
      expect(options.reduce).not.toHaveBeenCalled();
    });
  }

  it('refuses a global hidden after allowed ones, inside a real-looking state dict', () => {
    const p = new PickleWriter().proto(2).global('collections', 'OrderedDict').tupleN(0).reduce().put(0).mark();
    p.binunicode('weight').global('builtins', 'exec').str('import os').tupleN(1).reduce().setitems().stop();
    const options = spyOptions(['collections.OrderedDict']);
    const error = errorOf(() => unpickle(p.bytes(), options));
    expect(isVitkitError(error, 'PICKLE_FORBIDDEN_GLOBAL')).toBe(true);
    expect((error as Error).message).toContain('builtins.exec');
    // The OrderedDict REDUCE ran (it is ours); the exec REDUCE never did.
    expect(options.reduce).toHaveBeenCalledTimes(1);
  });

  it('refuses REDUCE on something that is not a global', () => {
    const bytes = new PickleWriter().proto(2).str('os.system').tupleN(0).reduce().stop().bytes();
    const error = errorOf(() => unpickle(bytes, spyOptions()));
    expect(isVitkitError(error, 'PICKLE_INVALID')).toBe(true);
  });

  it('refuses opcodes a state dict never uses (INST, OBJ, NEWOBJ, EXT1)', () => {
    for (const op of [0x69, 0x6f, 0x81, 0x82]) {
      const error = errorOf(() => unpickle(new PickleWriter().proto(2).raw(op).stop().bytes(), spyOptions()));
      expect(isVitkitError(error, 'PICKLE_INVALID')).toBe(true);
    }
  });
});

describe('unpickle: damaged input', () => {
  const full = new PickleWriter()
    .proto(2)
    .emptyDict()
    .mark()
    .binunicode('a.weight')
    .int(3)
    .binunicode('b')
    .long1(2n ** 80n)
    .setitems()
    .stop()
    .bytes();

  it('throws PICKLE_INVALID for every truncation of a valid pickle', () => {
    expect(unpickle(full, spyOptions())).toBeInstanceOf(Map);
    for (let n = 0; n < full.length; n++) {
      const error = errorOf(() => unpickle(full.subarray(0, n), spyOptions()));
      expect(isVitkitError(error, 'PICKLE_INVALID'), `truncated to ${n} bytes`).toBe(true);
    }
  });

  it('rejects a string length that runs past the end', () => {
    const bytes = new PickleWriter().proto(2).raw(0x58, 0xff, 0xff, 0xff, 0x7f, 0x41).stop().bytes();
    expect(
      isVitkitError(
        errorOf(() => unpickle(bytes, spyOptions())),
        'PICKLE_INVALID',
      ),
    ).toBe(true);
  });

  it('rejects a read of an unwritten memo slot and a stack underflow', () => {
    expect(
      isVitkitError(
        errorOf(() => unpickle(new PickleWriter().proto(2).get(9).stop().bytes(), spyOptions())),
        'PICKLE_INVALID',
      ),
    ).toBe(true);
    expect(
      isVitkitError(
        errorOf(() => unpickle(new PickleWriter().proto(2).tupleN(2).stop().bytes(), spyOptions())),
        'PICKLE_INVALID',
      ),
    ).toBe(true);
  });
});

describe('unpickle: hostile sizes (linear work, typed errors, no stack overflow)', () => {
  const expectInvalid = (bytes: Uint8Array) =>
    expect(
      isVitkitError(
        errorOf(() => unpickle(bytes, spyOptions())),
        'PICKLE_INVALID',
      ),
    ).toBe(true);

  /** Opcode, 4-byte little-endian length, then `length` bytes of `fill`. */
  function sized(op: number, length: number, fill: number): Uint8Array {
    const out = new Uint8Array(2 + 5 + length + 1).fill(fill);
    out.set([0x80, 2, op, length & 0xff, (length >> 8) & 0xff, (length >> 16) & 0xff, length >>> 24]);
    out[out.length - 1] = 0x2e; // STOP
    return out;
  }

  it('refuses LONG4 integers far beyond any state dict (a 300 KB integer took 59 s)', () => {
    expectInvalid(sized(0x8b, 10_000, 0x5a));
    expectInvalid(sized(0x8b, 300_000, 0x5a));
    expectInvalid(sized(0x8b, 1_000_000, 0xff));
    // What torch.save writes still decodes: 8-byte and 64-byte values.
    expect(
      unpickle(
        new PickleWriter()
          .proto(2)
          .long1(-(2n ** 63n))
          .stop()
          .bytes(),
        spyOptions(),
      ),
    ).toBe(-(2n ** 63n));
    expect(
      unpickle(
        new PickleWriter()
          .proto(2)
          .long1(2n ** 500n)
          .stop()
          .bytes(),
        spyOptions(),
      ),
    ).toBe(2n ** 500n);
  });

  it('appends 200k items in one APPENDS without overflowing the stack', () => {
    const p = new PickleWriter().proto(2).emptyList().mark();
    for (let i = 0; i < 200_000; i++) p.none();
    const list = unpickle(p.appends().stop().bytes(), spyOptions()) as unknown[];
    expect(list.length).toBe(200_000);
  });

  it('decodes a 1 MB BINSTRING as Latin-1 without overflowing the stack', () => {
    const text = unpickle(sized(0x54, 1_000_000, 0xe9), spyOptions()) as string;
    expect(text.length).toBe(1_000_000);
    expect(text.slice(0, 3)).toBe('ééé');
  });

  it('refuses a 1 MB GLOBAL line as PICKLE_INVALID, not a RangeError', () => {
    const out = new Uint8Array(3 + 1_000_000 + 4).fill(0x41);
    out.set([0x80, 2, 0x63]);
    out.set([0x0a, 0x41, 0x0a, 0x2e], out.length - 4);
    expectInvalid(out);
  });
});
