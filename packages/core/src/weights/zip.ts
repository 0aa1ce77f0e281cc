import { Inflate } from 'fflate';
import { VitkitError } from '../errors/vitkit-error.js';
import { allocateBytes, type ByteSource } from './byte-source.js';

/**
 * A zip archive read by range: the central directory (zip64 included, which `torch.save` writes for
 * files over 4 GiB) is parsed up front, and an entry's bytes are read only when asked for. Stored
 * entries, which is all `torch.save` writes, are read in place; deflated ones are inflated on demand
 * and never past the size the directory declares. Every count, size and offset is checked against
 * the file's real size before it is used, so a hostile directory costs no more than its own bytes.
 * CRCs are not checked: that would mean reading every entry whole, which range reads exist to avoid.
 */

/** `PK\x03\x04`: every zip starts with a local file header. */
const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];

const END_SIGNATURE = 0x06054b50;
const END_BYTES = 22;
const MAX_COMMENT_BYTES = 0xffff;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_LOCATOR_BYTES = 20;
const ZIP64_END_SIGNATURE = 0x06064b50;
const ZIP64_END_BYTES = 56;
const CENTRAL_SIGNATURE = 0x02014b50;
const CENTRAL_BYTES = 46;
const LOCAL_SIGNATURE = 0x04034b50;
const LOCAL_BYTES = 30;
const ZIP64_EXTRA_ID = 0x0001;
const STORED = 0;
const DEFLATED = 8;
/** Deflate's best case is 258 bytes from one ~2-bit code: no real stream inflates more than ~1032×. */
const MAX_DEFLATE_RATIO = 1032;
/** A torch.save directory is ~100 bytes per storage; this allows millions, and bounds what a claim can make us read. */
const MAX_CENTRAL_DIRECTORY_BYTES = 256 * 1024 * 1024;
/** Inflate this much input at a time, so a bomb is caught within ~MAX_DEFLATE_RATIO× of it past the declared size. */
const INFLATE_CHUNK = 16 * 1024;

export function looksLikeZip(bytes: Uint8Array): boolean {
  return ZIP_MAGIC.every((b, i) => bytes[i] === b);
}

export interface ZipEntry {
  readonly name: string;
  readonly method: typeof STORED | typeof DEFLATED;
  readonly compressedSize: number;
  /** The uncompressed size the central directory declares; reads never return more. */
  readonly size: number;
  readonly headerOffset: number;
}

export class ZipArchive {
  /** Where each entry's data starts, from its local header (read on first use). */
  private readonly dataStarts = new Map<string, number>();

  private constructor(
    readonly file: ByteSource,
    private readonly entries: Map<string, ZipEntry>,
    /** Entry data lies before this offset (the central directory's start). */
    private readonly dataEnd: number,
  ) {}

  /** Parses the central directory; reads nothing else. */
  static open(file: ByteSource): ZipArchive {
    const fail = (why: string): never => {
      throw new VitkitError('ZIP_INVALID', `${file.source}: the zip archive is damaged or truncated (${why}); download it again.`);
    };
    if (!looksLikeZip(file.read(0, Math.min(4, file.size)))) {
      throw new VitkitError('ZIP_INVALID', `${file.source} is not a zip archive (it does not start with a zip header).`);
    }
    const tailLength = Math.min(file.size, END_BYTES + MAX_COMMENT_BYTES);
    const tail = file.read(file.size - tailLength, tailLength);
    const tailView = view(tail);
    let at = tail.byteLength - END_BYTES;
    while (at >= 0 && tailView.getUint32(at, true) !== END_SIGNATURE) at--;
    if (at < 0) fail('no end-of-central-directory record');
    const endOffset = file.size - tailLength + at;
    let count = tailView.getUint16(at + 10, true);
    let directoryBytes = tailView.getUint32(at + 12, true);
    let directoryOffset = tailView.getUint32(at + 16, true);
    let directoryEnd = endOffset;
    if (count === 0xffff || directoryBytes === 0xffffffff || directoryOffset === 0xffffffff) {
      if (endOffset < ZIP64_LOCATOR_BYTES) fail('a zip64 archive without its zip64 locator');
      const locator = view(file.read(endOffset - ZIP64_LOCATOR_BYTES, ZIP64_LOCATOR_BYTES));
      if (locator.getUint32(0, true) !== ZIP64_LOCATOR_SIGNATURE) fail('a zip64 archive without its zip64 locator');
      const recordOffset = u64(locator, 8);
      if (recordOffset + ZIP64_END_BYTES > endOffset - ZIP64_LOCATOR_BYTES) fail('the zip64 end record lies outside the file');
      const record = view(file.read(recordOffset, ZIP64_END_BYTES));
      if (record.getUint32(0, true) !== ZIP64_END_SIGNATURE) fail('no zip64 end-of-central-directory record where the locator points');
      count = u64(record, 32);
      directoryBytes = u64(record, 40);
      directoryOffset = u64(record, 48);
      directoryEnd = recordOffset;
    }
    // Bound the claims by the file before looping over them: the directory must fit before its end
    // record, and each entry takes at least CENTRAL_BYTES of it.
    if (directoryOffset + directoryBytes > directoryEnd) {
      fail(
        `the central directory claims bytes ${directoryOffset}…${directoryOffset + directoryBytes}, past its end record at ${directoryEnd}`,
      );
    }
    if (directoryBytes > MAX_CENTRAL_DIRECTORY_BYTES) fail(`a central directory of ${directoryBytes} bytes, more than any checkpoint has`);
    if (count * CENTRAL_BYTES > directoryBytes)
      fail(`${count} entries claimed, but the central directory has room for ${Math.floor(directoryBytes / CENTRAL_BYTES)}`);

    const directory = file.read(directoryOffset, directoryBytes);
    const dir = view(directory);
    const names = new TextDecoder();
    const entries = new Map<string, ZipEntry>();
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + CENTRAL_BYTES > directoryBytes || dir.getUint32(p, true) !== CENTRAL_SIGNATURE)
        fail(`central directory entry ${i} is damaged`);
      const flags = dir.getUint16(p + 8, true);
      const method = dir.getUint16(p + 10, true);
      let compressedSize = dir.getUint32(p + 20, true);
      let size = dir.getUint32(p + 24, true);
      const nameLength = dir.getUint16(p + 28, true);
      const extraLength = dir.getUint16(p + 30, true);
      const commentLength = dir.getUint16(p + 32, true);
      let headerOffset = dir.getUint32(p + 42, true);
      const next = p + CENTRAL_BYTES + nameLength + extraLength + commentLength;
      if (next > directoryBytes) fail(`central directory entry ${i} runs past the directory`);
      const name = names.decode(directory.subarray(p + CENTRAL_BYTES, p + CENTRAL_BYTES + nameLength));
      // zip64 extra field: the 64-bit values of whichever 32-bit fields are saturated, in this order.
      for (let e = p + CENTRAL_BYTES + nameLength; e + 4 <= p + CENTRAL_BYTES + nameLength + extraLength; ) {
        const id = dir.getUint16(e, true);
        const length = dir.getUint16(e + 2, true);
        if (id === ZIP64_EXTRA_ID) {
          let f = e + 4;
          const field = (): number => {
            if (f + 8 > e + 4 + length) fail(`entry ${name} has a short zip64 field`);
            const value = u64(dir, f);
            f += 8;
            return value;
          };
          if (size === 0xffffffff) size = field();
          if (compressedSize === 0xffffffff) compressedSize = field();
          if (headerOffset === 0xffffffff) headerOffset = field();
        }
        e += 4 + length;
      }
      if (flags & 1) fail(`entry ${name} is encrypted`);
      if (method !== STORED && method !== DEFLATED)
        fail(`entry ${name} uses compression method ${method}; only stored and deflated entries are read`);
      if (headerOffset + LOCAL_BYTES + compressedSize > directoryOffset)
        fail(`entry ${name} claims data past the start of the central directory`);
      if (method === STORED && size !== compressedSize) fail(`stored entry ${name} declares ${size} bytes but holds ${compressedSize}`);
      if (method === DEFLATED && size > compressedSize * MAX_DEFLATE_RATIO + 1024) {
        fail(`entry ${name} declares ${size} bytes from ${compressedSize} deflated, more than deflate can produce`);
      }
      entries.set(name, { name, method: method as ZipEntry['method'], compressedSize, size, headerOffset });
      p = next;
    }
    return new ZipArchive(file, entries, directoryOffset);
  }

  names(): IterableIterator<string> {
    return this.entries.keys();
  }

  entry(name: string): ZipEntry | undefined {
    return this.entries.get(name);
  }

  /** Bytes `offset…offset + length` of a stored entry, read in place (a view for in-memory files). */
  readStored(entry: ZipEntry, offset: number, length: number): Uint8Array {
    if (entry.method !== STORED) throw new Error(`readStored on deflated ${entry.name}`); // callers check `method`
    if (offset < 0 || length < 0 || offset + length > entry.size) {
      throw new VitkitError(
        'ZIP_INVALID',
        `${this.file.source}: a read of bytes ${offset}…${offset + length} of ${entry.name}, which holds ${entry.size}.`,
      );
    }
    return this.file.read(this.dataStart(entry) + offset, length);
  }

  /** An entry's whole content: stored entries read in place, deflated ones inflated (to the declared size, no further). */
  read(entry: ZipEntry): Uint8Array {
    if (entry.method === STORED) return this.readStored(entry, 0, entry.size);
    return inflateBounded(this.file.read(this.dataStart(entry), entry.compressedSize), entry, this.file.source);
  }

  private dataStart(entry: ZipEntry): number {
    let start = this.dataStarts.get(entry.name);
    if (start === undefined) {
      const header = view(this.file.read(entry.headerOffset, LOCAL_BYTES));
      if (header.getUint32(0, true) !== LOCAL_SIGNATURE) {
        throw new VitkitError(
          'ZIP_INVALID',
          `${this.file.source}: entry ${entry.name} has no local header where the directory points; the file is damaged.`,
        );
      }
      start = entry.headerOffset + LOCAL_BYTES + header.getUint16(26, true) + header.getUint16(28, true);
      if (start + entry.compressedSize > this.dataEnd) {
        throw new VitkitError(
          'ZIP_INVALID',
          `${this.file.source}: entry ${entry.name} runs into the central directory; the file is damaged.`,
        );
      }
      this.dataStarts.set(entry.name, start);
    }
    return start;
  }
}

/** Inflates a raw deflate stream into exactly `entry.size` bytes, stopping as soon as it would produce more. */
function inflateBounded(compressed: Uint8Array, entry: ZipEntry, source: string): Uint8Array {
  const fail = (why: string, cause?: unknown): never => {
    throw new VitkitError('ZIP_INVALID', `${source}: entry ${entry.name} ${why}; the file is damaged.`, { cause });
  };
  const out = allocateBytes(entry.size, source);
  let written = 0;
  let ended = false;
  const inflater = new Inflate((chunk, final) => {
    if (written + chunk.byteLength > entry.size) fail(`inflates past the ${entry.size} bytes its directory entry declares`);
    out.set(chunk, written);
    written += chunk.byteLength;
    ended ||= final;
  });
  try {
    let at = 0;
    do {
      const end = Math.min(at + INFLATE_CHUNK, compressed.byteLength);
      inflater.push(compressed.subarray(at, end), end === compressed.byteLength);
      at = end;
    } while (at < compressed.byteLength && !ended);
  } catch (cause) {
    if (cause instanceof VitkitError) throw cause;
    fail(`is not a valid deflate stream (${(cause as Error).message})`, cause);
  }
  if (written !== entry.size) fail(`inflates to ${written} bytes, not the ${entry.size} its directory entry declares`);
  return out;
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A 64-bit field as a number; values past 2^53 exceed any file and fail the bounds checks that follow. */
function u64(v: DataView, at: number): number {
  return Number(v.getBigUint64(at, true));
}
