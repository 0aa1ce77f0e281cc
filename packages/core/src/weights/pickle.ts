import { VitkitError } from '../errors/vitkit-error.js';

/**
 * A restricted unpickler: it decodes the subset of Python's pickle format that `torch.save` writes
 * for a state dict, and nothing else. Python's unpickler imports and calls whatever a GLOBAL names,
 * which is how a malicious checkpoint runs code; here a GLOBAL is only a name, checked against an
 * allow-list the caller gives, and REDUCE/BUILD hand the name to the caller's own handlers. No
 * pickle byte can reach an `eval`, an import or a function the caller did not write.
 *
 * Python values map to JS as: None → null, bool → boolean, int → number (bigint beyond 2^53),
 * float → number, str → string, bytes → Uint8Array, tuple/list → array, dict → Map.
 */

/** A GLOBAL that passed the allow-list: a name only, never resolved to anything executable. */
export class PickleGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}

  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

export interface UnpicklerOptions {
  /** Fully qualified names (`module.name`) a GLOBAL may name; any other is refused. */
  allowedGlobals: ReadonlySet<string>;
  /** Applies an allowed callable to its arguments (REDUCE). */
  reduce(callable: PickleGlobal, args: unknown[]): unknown;
  /** Resolves a persistent id (BINPERSID), as `torch.save` uses for tensor storages. */
  persistentLoad?(pid: unknown): unknown;
  /** Names the file in error messages. */
  source: string;
}

/**
 * Bounds on what one opcode may make this reader do, each far beyond what `torch.save` writes, so
 * that work stays linear in the pickle's size. Integers: state dicts hold sizes, strides and
 * version numbers, none near 2^64; GLOBAL lines name a module and a class.
 */
const MAX_LONG_BYTES = 64;
const MAX_GLOBAL_LINE_BYTES = 1024;

// Opcode bytes, named as Python's pickletools names them.
const OP = {
  PROTO: 0x80,
  FRAME: 0x95,
  STOP: 0x2e, // .
  MARK: 0x28, // (
  POP: 0x30, // 0
  POP_MARK: 0x31, // 1
  DUP: 0x32, // 2
  NONE: 0x4e, // N
  NEWTRUE: 0x88,
  NEWFALSE: 0x89,
  BININT: 0x4a, // J
  BININT1: 0x4b, // K
  BININT2: 0x4d, // M
  LONG1: 0x8a,
  LONG4: 0x8b,
  BINFLOAT: 0x47, // G
  BINUNICODE: 0x58, // X
  SHORT_BINUNICODE: 0x8c,
  BINUNICODE8: 0x8d,
  BINSTRING: 0x54, // T
  SHORT_BINSTRING: 0x55, // U
  BINBYTES: 0x42, // B
  SHORT_BINBYTES: 0x43, // C
  EMPTY_TUPLE: 0x29, // )
  TUPLE: 0x74, // t
  TUPLE1: 0x85,
  TUPLE2: 0x86,
  TUPLE3: 0x87,
  EMPTY_LIST: 0x5d, // ]
  LIST: 0x6c, // l
  APPEND: 0x61, // a
  APPENDS: 0x65, // e
  EMPTY_DICT: 0x7d, // }
  DICT: 0x64, // d
  SETITEM: 0x73, // s
  SETITEMS: 0x75, // u
  GLOBAL: 0x63, // c
  STACK_GLOBAL: 0x93,
  REDUCE: 0x52, // R
  BUILD: 0x62, // b
  BINPERSID: 0x51, // Q
  BINPUT: 0x71, // q
  LONG_BINPUT: 0x72, // r
  MEMOIZE: 0x94,
  BINGET: 0x68, // h
  LONG_BINGET: 0x6a, // j
} as const;

const OPCODE_NAMES = new Map<number, string>(Object.entries(OP).map(([name, code]) => [code, name]));

/** Highest pickle protocol whose framing and opcodes this reader knows. */
const MAX_PROTOCOL = 5;

/** Decodes one pickle; returns the value STOP leaves on the stack. */
export function unpickle(bytes: Uint8Array, options: UnpicklerOptions): unknown {
  try {
    return new Unpickler(bytes, options).run();
  } catch (cause) {
    // An engine limit (a Map past 2^24 entries, an array past its maximum length) reached by a huge
    // hostile pickle; the opcodes themselves are bounded above.
    if (cause instanceof RangeError) {
      throw new VitkitError(
        'PICKLE_INVALID',
        `${options.source}: the pickle builds more than this reader can hold (${cause.message}); it is not a state dict.`,
        { cause },
      );
    }
    throw cause;
  }
}

class Unpickler {
  private pos = 0;
  private stack: unknown[] = [];
  /** Stack depths at each open MARK (Python's metastack), so "pop to mark" never scans the stack. */
  private readonly marks: number[] = [];
  private readonly memo = new Map<number, unknown>();
  private readonly view: DataView;
  private readonly utf8 = new TextDecoder('utf-8', { fatal: true });

  constructor(
    private readonly bytes: Uint8Array,
    private readonly options: UnpicklerOptions,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  run(): unknown {
    for (;;) {
      const at = this.pos;
      const op = this.u8();
      switch (op) {
        case OP.PROTO: {
          const protocol = this.u8();
          if (protocol > MAX_PROTOCOL) this.fail(`pickle protocol ${protocol} is newer than ${MAX_PROTOCOL}`);
          break;
        }
        case OP.FRAME:
          // Frames only group opcodes for buffered reading; the whole pickle is in memory already.
          this.take(8);
          break;
        case OP.STOP: {
          if (this.stack.length !== 1 || this.marks.length > 0)
            this.fail(`STOP with ${this.stack.length} values and ${this.marks.length} open MARKs`);
          return this.stack[0];
        }
        case OP.MARK:
          this.marks.push(this.stack.length);
          break;
        case OP.POP:
          this.pop();
          break;
        case OP.POP_MARK:
          this.popToMark();
          break;
        case OP.DUP:
          this.stack.push(this.top());
          break;
        case OP.NONE:
          this.stack.push(null);
          break;
        case OP.NEWTRUE:
          this.stack.push(true);
          break;
        case OP.NEWFALSE:
          this.stack.push(false);
          break;
        case OP.BININT:
          this.stack.push(this.view.getInt32(this.take(4), true));
          break;
        case OP.BININT1:
          this.stack.push(this.u8());
          break;
        case OP.BININT2:
          this.stack.push(this.view.getUint16(this.take(2), true));
          break;
        case OP.LONG1:
          this.stack.push(this.long(this.u8()));
          break;
        case OP.LONG4:
          this.stack.push(this.long(this.u32()));
          break;
        case OP.BINFLOAT:
          // The one big-endian value in the format.
          this.stack.push(this.view.getFloat64(this.take(8), false));
          break;
        case OP.BINUNICODE:
          this.stack.push(this.text(this.u32()));
          break;
        case OP.SHORT_BINUNICODE:
          this.stack.push(this.text(this.u8()));
          break;
        case OP.BINUNICODE8:
          this.stack.push(this.text(this.u64()));
          break;
        case OP.BINSTRING:
          // Python 2 `str`; old checkpoints carry ASCII names this way.
          this.stack.push(this.latin1(this.u32()));
          break;
        case OP.SHORT_BINSTRING:
          this.stack.push(this.latin1(this.u8()));
          break;
        case OP.BINBYTES:
          this.stack.push(this.slice(this.u32()));
          break;
        case OP.SHORT_BINBYTES:
          this.stack.push(this.slice(this.u8()));
          break;
        case OP.EMPTY_TUPLE:
        case OP.EMPTY_LIST:
          this.stack.push([]);
          break;
        case OP.TUPLE:
        case OP.LIST:
          this.stack.push(this.popToMark());
          break;
        case OP.TUPLE1:
          this.stack.push([this.pop()]);
          break;
        case OP.TUPLE2: {
          const b = this.pop();
          this.stack.push([this.pop(), b]);
          break;
        }
        case OP.TUPLE3: {
          const c = this.pop();
          const b = this.pop();
          this.stack.push([this.pop(), b, c]);
          break;
        }
        case OP.APPEND: {
          const item = this.pop();
          this.list(this.top()).push(item);
          break;
        }
        case OP.APPENDS: {
          const items = this.popToMark();
          const list = this.list(this.top());
          // A loop, not push(...items): spreading a long list overflows the call stack.
          for (const item of items) list.push(item);
          break;
        }
        case OP.EMPTY_DICT:
          this.stack.push(new Map());
          break;
        case OP.DICT: {
          const dict = new Map();
          this.setItems(dict, this.popToMark());
          this.stack.push(dict);
          break;
        }
        case OP.SETITEM: {
          const value = this.pop();
          const key = this.pop();
          this.setItems(this.dict(this.top()), [key, value]);
          break;
        }
        case OP.SETITEMS: {
          const items = this.popToMark();
          this.setItems(this.dict(this.top()), items);
          break;
        }
        case OP.GLOBAL: {
          const module = this.line();
          const name = this.line();
          this.stack.push(this.global(module, name));
          break;
        }
        case OP.STACK_GLOBAL: {
          const name = this.pop();
          const module = this.pop();
          if (typeof module !== 'string' || typeof name !== 'string') this.fail('STACK_GLOBAL needs two strings');
          this.stack.push(this.global(module as string, name as string));
          break;
        }
        case OP.REDUCE: {
          const args = this.pop();
          const callable = this.pop();
          if (!(callable instanceof PickleGlobal)) this.fail('REDUCE applied to something that is not an allowed global');
          if (!Array.isArray(args)) this.fail('REDUCE needs a tuple of arguments');
          this.stack.push(this.options.reduce(callable as PickleGlobal, args as unknown[]));
          break;
        }
        case OP.BUILD: {
          // `torch.save` BUILDs an OrderedDict with its `__dict__` (the state dict's `_metadata`);
          // attributes mean nothing to a tensor map, so they are dropped. Anything else is refused.
          this.pop();
          if (!(this.top() instanceof Map)) this.fail('BUILD is only supported on dictionaries');
          break;
        }
        case OP.BINPERSID: {
          const pid = this.pop();
          if (!this.options.persistentLoad) this.fail('BINPERSID (a persistent id) but the caller resolves none');
          this.stack.push(this.options.persistentLoad?.(pid));
          break;
        }
        case OP.BINPUT:
          this.memo.set(this.u8(), this.top());
          break;
        case OP.LONG_BINPUT:
          this.memo.set(this.u32(), this.top());
          break;
        case OP.MEMOIZE:
          this.memo.set(this.memo.size, this.top());
          break;
        case OP.BINGET:
          this.stack.push(this.recall(this.u8()));
          break;
        case OP.LONG_BINGET:
          this.stack.push(this.recall(this.u32()));
          break;
        default: {
          const name = OPCODE_NAMES.get(op) ?? `0x${op.toString(16).padStart(2, '0')}`;
          this.fail(`opcode ${name} at byte ${at} is not one a PyTorch state dict uses`);
        }
      }
    }
  }

  private global(module: string, name: string): PickleGlobal {
    const qualified = `${module}.${name}`;
    if (!this.options.allowedGlobals.has(qualified)) {
      throw new VitkitError(
        'PICKLE_FORBIDDEN_GLOBAL',
        `${this.options.source}: the pickle references ${qualified}, which is not on vitkit's allow-list of tensor-rebuilding names. ` +
          'Refusing to load it: a pickle can run arbitrary code through such references. Use a safetensors checkpoint, or re-save the state dict with torch.save(model.state_dict()).',
      );
    }
    return new PickleGlobal(module, name);
  }

  private setItems(dict: Map<unknown, unknown>, items: unknown[]): void {
    if (items.length % 2 !== 0) this.fail('a dictionary needs key/value pairs');
    for (let i = 0; i < items.length; i += 2) dict.set(items[i], items[i + 1]);
  }

  private list(value: unknown): unknown[] {
    if (!Array.isArray(value)) this.fail('APPEND to something that is not a list');
    return value as unknown[];
  }

  private dict(value: unknown): Map<unknown, unknown> {
    if (!(value instanceof Map)) this.fail('SETITEM on something that is not a dictionary');
    return value as Map<unknown, unknown>;
  }

  private recall(index: number): unknown {
    if (!this.memo.has(index)) this.fail(`memo slot ${index} is read before it is written`);
    return this.memo.get(index);
  }

  /** Values above the innermost MARK: those are all an opcode may pop. */
  private floor(): number {
    return this.marks.length > 0 ? this.marks[this.marks.length - 1] : 0;
  }

  private pop(): unknown {
    if (this.stack.length <= this.floor()) this.fail(this.stack.length === 0 ? 'stack underflow' : 'a MARK where a value was expected');
    return this.stack.pop();
  }

  private top(): unknown {
    if (this.stack.length <= this.floor()) this.fail('stack underflow');
    return this.stack[this.stack.length - 1];
  }

  private popToMark(): unknown[] {
    const at = this.marks.pop();
    if (at === undefined) this.fail('no MARK to pop to');
    const items = this.stack.slice(at);
    this.stack.length = at as number;
    return items;
  }

  /**
   * Little-endian two's-complement integer of `n` bytes (LONG1/LONG4), refused beyond MAX_LONG_BYTES:
   * BigInt arithmetic on a huge integer is quadratic, and no state dict holds one.
   */
  private long(n: number): number | bigint {
    if (n > MAX_LONG_BYTES) this.fail(`an integer of ${n} bytes (a state dict's are at most 8)`);
    const start = this.take(n);
    let hex = '';
    for (let i = n - 1; i >= 0; i--) hex += this.bytes[start + i].toString(16).padStart(2, '0');
    let value = n > 0 ? BigInt(`0x${hex}`) : 0n;
    if (n > 0 && this.bytes[start + n - 1] & 0x80) value -= 1n << BigInt(8 * n);
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  }

  private text(n: number): string {
    const bytes = this.slice(n);
    try {
      return this.utf8.decode(bytes);
    } catch {
      return this.fail('a string that is not valid UTF-8');
    }
  }

  private latin1(n: number): string {
    return latin1(this.bytes.subarray(this.take(n), this.pos));
  }

  /** A newline-terminated ASCII line (GLOBAL's module and name), at most MAX_GLOBAL_LINE_BYTES long. */
  private line(): string {
    const end = this.bytes.subarray(this.pos, this.pos + MAX_GLOBAL_LINE_BYTES + 1).indexOf(0x0a);
    if (end < 0) {
      this.fail(
        this.pos + MAX_GLOBAL_LINE_BYTES < this.bytes.byteLength
          ? `a GLOBAL name longer than ${MAX_GLOBAL_LINE_BYTES} bytes`
          : 'truncated: a GLOBAL name has no end of line',
      );
    }
    const text = latin1(this.bytes.subarray(this.pos, this.pos + end));
    this.pos += end + 1;
    return text;
  }

  private slice(n: number): Uint8Array {
    const start = this.take(n);
    return this.bytes.slice(start, start + n);
  }

  private u8(): number {
    return this.bytes[this.take(1)];
  }

  private u32(): number {
    return this.view.getUint32(this.take(4), true);
  }

  private u64(): number {
    const n = this.view.getBigUint64(this.take(8), true);
    if (n > BigInt(this.bytes.byteLength)) this.fail(`a length of ${n} bytes, longer than the pickle`);
    return Number(n);
  }

  /** Advances past `n` bytes and returns where they start, refusing to read past the end. */
  private take(n: number): number {
    if (this.pos + n > this.bytes.byteLength) {
      this.fail(`truncated: needs ${n} more bytes at byte ${this.pos} but the pickle has ${this.bytes.byteLength}`);
    }
    const start = this.pos;
    this.pos += n;
    return start;
  }

  private fail(why: string): never {
    throw new VitkitError('PICKLE_INVALID', `${this.options.source}: ${why}; the checkpoint is corrupt or not a PyTorch state dict.`);
  }
}

/** Bytes as Latin-1 text, in slices: String.fromCharCode(...bytes) of a long string overflows the call stack. */
function latin1(bytes: Uint8Array): string {
  let text = '';
  for (let at = 0; at < bytes.byteLength; at += 8192) text += String.fromCharCode(...bytes.subarray(at, at + 8192));
  return text;
}
