import { zipSync } from 'fflate';

/**
 * Writes pickles opcode by opcode, so tests can build exactly the byte streams `torch.save` emits,
 * and the hostile ones it never would, without Python.
 */
export class PickleWriter {
  private readonly parts: number[] = [];

  /** Raw bytes, for malformed streams. */
  raw(...bytes: number[]): this {
    this.parts.push(...bytes);
    return this;
  }

  proto(version: number): this {
    return this.raw(0x80, version);
  }

  global(module: string, name: string): this {
    return this.raw(0x63, ...ascii(`${module}\n${name}\n`));
  }

  stackGlobal(): this {
    return this.raw(0x93);
  }

  mark(): this {
    return this.raw(0x28);
  }

  /** SHORT_BINUNICODE for short strings, BINUNICODE otherwise, as CPython picks. */
  str(text: string): this {
    const bytes = new TextEncoder().encode(text);
    if (bytes.length < 256) return this.raw(0x8c, bytes.length, ...bytes);
    return this.raw(0x58, ...u32(bytes.length), ...bytes);
  }

  /** BINUNICODE always (protocol 2 has no SHORT_BINUNICODE; torch.save uses protocol 2). */
  binunicode(text: string): this {
    const bytes = new TextEncoder().encode(text);
    return this.raw(0x58, ...u32(bytes.length), ...bytes);
  }

  /** The smallest int opcode CPython would use. */
  int(n: number): this {
    if (n >= 0 && n < 256) return this.raw(0x4b, n);
    if (n >= 0 && n < 65536) return this.raw(0x4d, n & 0xff, n >> 8);
    if (n >= -(2 ** 31) && n < 2 ** 31) return this.raw(0x4a, ...u32(n >>> 0));
    return this.long1(BigInt(n));
  }

  /** LONG1: minimal little-endian two's complement, as CPython writes it (zero bytes for 0). */
  long1(n: bigint): this {
    const bytes: number[] = [];
    for (let v = n; v !== 0n && v !== -1n; v >>= 8n) bytes.push(Number(BigInt.asUintN(8, v)));
    const signBitSet = bytes.length > 0 && (bytes[bytes.length - 1] & 0x80) !== 0;
    if (n < 0n && (bytes.length === 0 || !signBitSet)) bytes.push(0xff);
    if (n > 0n && signBitSet) bytes.push(0);
    return this.raw(0x8a, bytes.length, ...bytes);
  }

  tuple(): this {
    return this.raw(0x74);
  }

  tupleN(n: 0 | 1 | 2 | 3): this {
    return this.raw([0x29, 0x85, 0x86, 0x87][n]);
  }

  reduce(): this {
    return this.raw(0x52);
  }

  build(): this {
    return this.raw(0x62);
  }

  binpersid(): this {
    return this.raw(0x51);
  }

  emptyDict(): this {
    return this.raw(0x7d);
  }

  emptyList(): this {
    return this.raw(0x5d);
  }

  setitem(): this {
    return this.raw(0x73);
  }

  setitems(): this {
    return this.raw(0x75);
  }

  appends(): this {
    return this.raw(0x65);
  }

  bool(value: boolean): this {
    return this.raw(value ? 0x88 : 0x89);
  }

  none(): this {
    return this.raw(0x4e);
  }

  put(slot: number): this {
    return slot < 256 ? this.raw(0x71, slot) : this.raw(0x72, ...u32(slot));
  }

  get(slot: number): this {
    return slot < 256 ? this.raw(0x68, slot) : this.raw(0x6a, ...u32(slot));
  }

  memoize(): this {
    return this.raw(0x94);
  }

  stop(): this {
    return this.raw(0x2e);
  }

  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

function ascii(text: string): number[] {
  return [...text].map((c) => c.charCodeAt(0));
}

function u32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}

/** One tensor of a hand-made state dict, described as torch.save would record it. */
export interface FakeTensor {
  storageClass: string; // e.g. 'FloatStorage'
  storageKey: string;
  storageBytes: Uint8Array;
  storageNumel: number;
  offset: number;
  shape: number[];
  stride: number[];
}

/** One tensor value as torch pickles it: `_rebuild_tensor_v2(persistent storage, offset, size, stride, False, OrderedDict())`. */
export function writeTensorRecord(p: PickleWriter, t: FakeTensor): PickleWriter {
  p.global('torch._utils', '_rebuild_tensor_v2').mark();
  p.mark()
    .binunicode('storage')
    .global('torch', t.storageClass)
    .binunicode(t.storageKey)
    .binunicode('cpu')
    .int(t.storageNumel)
    .tuple()
    .binpersid();
  p.int(t.offset).mark();
  for (const d of t.shape) p.int(d);
  p.tuple().mark();
  for (const s of t.stride) p.int(s);
  return p.tuple().bool(false).global('collections', 'OrderedDict').tupleN(0).reduce().tuple().reduce();
}

/**
 * A `torch.save(state_dict)` archive built the way torch writes it: an OrderedDict REDUCEd from
 * `collections.OrderedDict`, each value `_rebuild_tensor_v2(persistent storage, offset, size,
 * stride, False, OrderedDict())`, entries stored uncompressed under `<name>/`.
 */
export function torchSaveArchive(
  tensors: Record<string, FakeTensor>,
  options: { name?: string; byteorder?: 'little' | 'big' } = {},
): Uint8Array {
  const name = options.name ?? 'archive';
  const p = new PickleWriter().proto(2).global('collections', 'OrderedDict').tupleN(0).reduce().mark();
  for (const [key, t] of Object.entries(tensors)) {
    writeTensorRecord(p.binunicode(key), t);
  }
  p.setitems().stop();
  const files: Record<string, [Uint8Array, { level: 0 }]> = {
    [`${name}/data.pkl`]: [p.bytes(), { level: 0 }],
    [`${name}/byteorder`]: [new TextEncoder().encode(options.byteorder ?? 'little'), { level: 0 }],
    [`${name}/version`]: [new TextEncoder().encode('3\n'), { level: 0 }],
  };
  for (const t of Object.values(tensors)) files[`${name}/data/${t.storageKey}`] = [t.storageBytes, { level: 0 }];
  return zipSync(files);
}
