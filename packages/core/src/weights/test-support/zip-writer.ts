import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { crc32 } from 'node:zlib';

/**
 * Writes zip archives entry by entry, with control fflate's writer does not give: entries whose
 * data is already deflated (so a test can declare sizes a stream does not have), entries that are
 * holes of a sparse file (so a test can make a 4 GiB checkpoint in no time and no disk), and zip64
 * records wherever a size or offset needs them, as torch.save writes them.
 */
export interface ZipEntrySpec {
  name: string;
  /** Stored content, or the deflated stream when `method` is 8. */
  data?: Uint8Array;
  /** Stored entries only: this many bytes left unwritten (zeros; holes in a file) instead of `data`. */
  holeBytes?: number;
  method?: 0 | 8;
  /** Uncompressed size to declare (default: the stored data's length). */
  declaredSize?: number;
}

const U32_MAX = 0xffffffff;

/** Positions and bytes to write, and the archive's total length. */
interface ZipLayout {
  writes: { at: number; bytes: Uint8Array }[];
  size: number;
}

function layout(entries: ZipEntrySpec[]): ZipLayout {
  const writes: ZipLayout['writes'] = [];
  const central: Uint8Array[] = [];
  let at = 0;
  for (const e of entries) {
    const name = new TextEncoder().encode(e.name);
    const stored = e.data?.byteLength ?? e.holeBytes ?? 0;
    const size = e.declaredSize ?? stored;
    const crc = e.data && (e.method ?? 0) === 0 ? crc32(e.data) : 0;
    const zip64 = size >= U32_MAX || stored >= U32_MAX || at >= U32_MAX;
    const localExtra = zip64 ? extra64([size, stored]) : new Uint8Array(0);
    const local = new DataView(new ArrayBuffer(30));
    local.setUint32(0, 0x04034b50, true);
    local.setUint16(4, zip64 ? 45 : 20, true);
    local.setUint16(8, e.method ?? 0, true);
    local.setUint32(14, crc, true);
    local.setUint32(18, zip64 ? U32_MAX : stored, true);
    local.setUint32(22, zip64 ? U32_MAX : size, true);
    local.setUint16(26, name.byteLength, true);
    local.setUint16(28, localExtra.byteLength, true);
    const headerAt = at;
    writes.push({ at, bytes: concat([new Uint8Array(local.buffer), name, localExtra]) });
    at += 30 + name.byteLength + localExtra.byteLength;
    if (e.data) writes.push({ at, bytes: e.data });
    at += stored;

    const wide = [size >= U32_MAX, stored >= U32_MAX, headerAt >= U32_MAX];
    const centralExtra = wide.some(Boolean) ? extra64([size, stored, headerAt].filter((_, i) => wide[i])) : new Uint8Array(0);
    const c = new DataView(new ArrayBuffer(46));
    c.setUint32(0, 0x02014b50, true);
    c.setUint16(4, 45, true);
    c.setUint16(6, wide.some(Boolean) ? 45 : 20, true);
    c.setUint16(10, e.method ?? 0, true);
    c.setUint32(16, crc, true);
    c.setUint32(20, wide[1] ? U32_MAX : stored, true);
    c.setUint32(24, wide[0] ? U32_MAX : size, true);
    c.setUint16(28, name.byteLength, true);
    c.setUint16(30, centralExtra.byteLength, true);
    c.setUint32(42, wide[2] ? U32_MAX : headerAt, true);
    central.push(concat([new Uint8Array(c.buffer), name, centralExtra]));
  }
  const directory = concat(central);
  const directoryAt = at;
  writes.push({ at, bytes: directory });
  at += directory.byteLength;
  const zip64 = entries.length >= 0xffff || directoryAt >= U32_MAX || directory.byteLength >= U32_MAX;
  if (zip64) {
    const record = new DataView(new ArrayBuffer(56 + 20));
    record.setUint32(0, 0x06064b50, true);
    record.setBigUint64(4, 44n, true);
    record.setUint16(12, 45, true);
    record.setUint16(14, 45, true);
    record.setBigUint64(24, BigInt(entries.length), true);
    record.setBigUint64(32, BigInt(entries.length), true);
    record.setBigUint64(40, BigInt(directory.byteLength), true);
    record.setBigUint64(48, BigInt(directoryAt), true);
    record.setUint32(56, 0x07064b50, true);
    record.setBigUint64(64, BigInt(at), true);
    record.setUint32(72, 1, true);
    writes.push({ at, bytes: new Uint8Array(record.buffer) });
    at += 76;
  }
  const end = new DataView(new ArrayBuffer(22));
  end.setUint32(0, 0x06054b50, true);
  end.setUint16(8, zip64 ? 0xffff : entries.length, true);
  end.setUint16(10, zip64 ? 0xffff : entries.length, true);
  end.setUint32(12, zip64 ? U32_MAX : directory.byteLength, true);
  end.setUint32(16, zip64 ? U32_MAX : directoryAt, true);
  writes.push({ at, bytes: new Uint8Array(end.buffer) });
  return { writes, size: at + 22 };
}

/** The archive in memory (holes become zeros). */
export function zipBytes(entries: ZipEntrySpec[]): Uint8Array {
  const { writes, size } = layout(entries);
  const out = new Uint8Array(size);
  for (const w of writes) out.set(w.bytes, w.at);
  return out;
}

/** The archive as a sparse file: only headers and `data` are written, holes stay holes. Returns its size. */
export function writeZipFile(path: string, entries: ZipEntrySpec[]): number {
  const { writes, size } = layout(entries);
  const fd = openSync(path, 'w');
  try {
    ftruncateSync(fd, size);
    for (const w of writes) writeSync(fd, w.bytes, 0, w.bytes.byteLength, w.at);
  } finally {
    closeSync(fd);
  }
  return size;
}

/** A zip64 extended-information extra field holding `values` as 64-bit integers. */
function extra64(values: number[]): Uint8Array {
  const v = new DataView(new ArrayBuffer(4 + 8 * values.length));
  v.setUint16(0, 0x0001, true);
  v.setUint16(2, 8 * values.length, true);
  values.forEach((x, i) => v.setBigUint64(4 + 8 * i, BigInt(x), true));
  return new Uint8Array(v.buffer);
}

/** The parts, one after another, in a new buffer. */
export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
