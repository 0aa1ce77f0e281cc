import { VitkitError } from '../errors/vitkit-error.js';
import { BYTES_PER_ELEMENT, type DType, viewAs } from '../tensor/dtype.js';
import { shapeSize, Tensor } from '../tensor/tensor.js';

/** Safetensors dtype names and the Tensor dtype each loads as. */
const SAFETENSORS_DTYPES: Record<string, DType> = {
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  F64: 'float64',
  I64: 'int64',
  I32: 'int32',
  I16: 'int16',
  I8: 'int8',
  U8: 'uint8',
  BOOL: 'bool',
};
const TO_SAFETENSORS: Partial<Record<DType, string>> = Object.fromEntries(Object.entries(SAFETENSORS_DTYPES).map(([k, v]) => [v, k]));

/** Headers above this are refused before parsing: real checkpoints stay far below (100 MB is the format's own cap). */
export const MAX_SAFETENSORS_HEADER_BYTES = 100_000_000;

/**
 * Tensors one file may list. The largest real checkpoints hold a few thousand per file; a header
 * that lists more is refused before it is parsed, since parsing a JSON object per tensor is what
 * costs time and memory (a 100 MB header can list two million).
 */
export const MAX_SAFETENSORS_TENSORS = 100_000;

export interface SafetensorsFile {
  /** Free-form `__metadata__` strings (e.g. `{ format: 'pt' }`). */
  metadata: Record<string, string>;
  tensors: Map<string, Tensor>;
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** One tensor as the header describes it; offsets are absolute positions in the file. */
export interface SafetensorsEntry {
  dtype: DType;
  shape: number[];
  start: number;
  end: number;
}

export interface SafetensorsHeader {
  metadata: Record<string, string>;
  /** Bytes taken by the length prefix and the JSON header: where tensor data begins. */
  headerEnd: number;
  entries: Map<string, SafetensorsEntry>;
}

/**
 * Bytes of the length prefix plus header a safetensors file starts with, from its first 8 bytes;
 * lets a reader fetch the header alone (validated as `readSafetensorsHeader` does).
 */
export function safetensorsHeaderEnd(prefix: Uint8Array, fileLength: number, source = 'safetensors file'): number {
  if (prefix.byteLength < 8 || fileLength < 8) {
    throw new VitkitError(
      'WEIGHTS_TRUNCATED',
      `${source}: ${Math.min(prefix.byteLength, fileLength)} bytes is too short to hold a safetensors header; the file is truncated or not safetensors.`,
    );
  }
  const headerLength = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (headerLength > BigInt(MAX_SAFETENSORS_HEADER_BYTES)) {
    throw new VitkitError(
      'WEIGHTS_HEADER_TOO_LARGE',
      `${source}: header length ${headerLength} exceeds the ${MAX_SAFETENSORS_HEADER_BYTES}-byte limit; the file is corrupt or not safetensors.`,
    );
  }
  const headerEnd = 8 + Number(headerLength);
  if (headerEnd > fileLength) {
    throw new VitkitError(
      'WEIGHTS_TRUNCATED',
      `${source}: header claims ${headerLength} bytes but the file has ${fileLength - 8} after the length; the file is truncated.`,
    );
  }
  return headerEnd;
}

/**
 * Parses and checks a safetensors header, given at least its first `safetensorsHeaderEnd` bytes and
 * the whole file's length (so offsets past the end are caught before any data is read).
 */
export function readSafetensorsHeader(bytes: Uint8Array, fileLength: number, source = 'safetensors file'): SafetensorsHeader {
  const headerEnd = safetensorsHeaderEnd(bytes, fileLength, source);
  if (bytes.byteLength < headerEnd) {
    throw new VitkitError('WEIGHTS_TRUNCATED', `${source}: the header was cut short (${bytes.byteLength} of ${headerEnd} bytes).`);
  }
  const json = bytes.subarray(8, headerEnd);
  // Each tensor's entry is a JSON object: counting `{` bounds the tensor count without parsing.
  const objects = countByte(json, 0x7b, MAX_SAFETENSORS_TENSORS + 3);
  if (objects > MAX_SAFETENSORS_TENSORS + 2) {
    throw new VitkitError(
      'WEIGHTS_HEADER_TOO_LARGE',
      `${source}: the header lists more than the ${MAX_SAFETENSORS_TENSORS} tensors vitkit reads from one file; the file is corrupt, or shard it.`,
    );
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json));
  } catch (cause) {
    throw new VitkitError('WEIGHTS_HEADER_INVALID', `${source}: the header is not valid UTF-8 JSON.`, { cause });
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    throw new VitkitError('WEIGHTS_HEADER_INVALID', `${source}: the header must be a JSON object.`);
  }
  const metadata: Record<string, string> = {};
  const raw: [string, HeaderEntry][] = [];
  if (Object.keys(header).length - (Object.hasOwn(header, '__metadata__') ? 1 : 0) > MAX_SAFETENSORS_TENSORS) {
    throw new VitkitError(
      'WEIGHTS_HEADER_TOO_LARGE',
      `${source}: the header lists more than the ${MAX_SAFETENSORS_TENSORS} tensors vitkit reads from one file.`,
    );
  }
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') {
      Object.assign(metadata, value);
      continue;
    }
    raw.push([name, checkEntry(source, name, value)]);
  }
  checkOffsets(source, raw, fileLength - headerEnd);
  const entries = new Map<string, SafetensorsEntry>();
  for (const [name, e] of raw) {
    const [start, end] = e.data_offsets;
    entries.set(name, { dtype: SAFETENSORS_DTYPES[e.dtype], shape: e.shape, start: headerEnd + start, end: headerEnd + end });
  }
  return { metadata, headerEnd, entries };
}

/** Tensors of a parsed header over the whole file's bytes (views where aligned, copies where not). */
export function safetensorsTensors(header: SafetensorsHeader, bytes: Uint8Array): Map<string, Tensor> {
  const tensors = new Map<string, Tensor>();
  for (const [name, e] of header.entries) tensors.set(name, safetensorsTensor(e, bytes.subarray(e.start, e.end)));
  return tensors;
}

/** One tensor from exactly its bytes (`end - start` of them, as read by range from the file). */
export function safetensorsTensor(entry: SafetensorsEntry, data: Uint8Array): Tensor {
  return new Tensor(entry.dtype, viewAs(entry.dtype, data), entry.shape);
}

/** Occurrences of `byte`, counted up to `limit` (a header far over the bound is not scanned to its end). */
function countByte(bytes: Uint8Array, byte: number, limit: number): number {
  let n = 0;
  for (let at = bytes.indexOf(byte); at >= 0 && n < limit; at = bytes.indexOf(byte, at + 1)) n++;
  return n;
}

/**
 * Parses a safetensors buffer. Tensors are zero-copy views into `bytes` wherever the data offset is
 * aligned for the element type; misaligned tensors are copied.
 */
export function readSafetensors(bytes: Uint8Array, source = 'safetensors file'): SafetensorsFile {
  const header = readSafetensorsHeader(bytes, bytes.byteLength, source);
  return { metadata: header.metadata, tensors: safetensorsTensors(header, bytes) };
}

function checkEntry(source: string, name: string, value: unknown): HeaderEntry {
  const e = value as Partial<HeaderEntry> | null;
  if (
    !e ||
    typeof e !== 'object' ||
    typeof e.dtype !== 'string' ||
    !Array.isArray(e.shape) ||
    !Array.isArray(e.data_offsets) ||
    e.data_offsets.length !== 2
  ) {
    throw new VitkitError('WEIGHTS_HEADER_INVALID', `${source}: tensor "${name}" needs dtype, shape and data_offsets in the header.`);
  }
  const dtype = SAFETENSORS_DTYPES[e.dtype];
  if (!dtype) {
    throw new VitkitError(
      'WEIGHTS_DTYPE_UNSUPPORTED',
      `${source}: tensor "${name}" has dtype ${e.dtype}; supported: ${Object.keys(SAFETENSORS_DTYPES).join(', ')}.`,
    );
  }
  if (!e.shape.every((d) => Number.isSafeInteger(d) && d >= 0) || !e.data_offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    throw new VitkitError('WEIGHTS_HEADER_INVALID', `${source}: tensor "${name}" has a negative or non-integer shape or offset.`);
  }
  const [start, end] = e.data_offsets;
  if (end - start !== shapeSize(e.shape) * BYTES_PER_ELEMENT[dtype]) {
    throw new VitkitError(
      'WEIGHTS_OFFSETS_INVALID',
      `${source}: tensor "${name}" spans ${end - start} bytes but dtype ${e.dtype} shape [${e.shape.join(', ')}] needs ${shapeSize(e.shape) * BYTES_PER_ELEMENT[dtype]}.`,
    );
  }
  return e as HeaderEntry;
}

function checkOffsets(source: string, entries: [string, HeaderEntry][], dataLength: number): void {
  const sorted = [...entries].sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0]);
  let cursor = 0;
  for (const [
    name,
    {
      data_offsets: [start, end],
    },
  ] of sorted) {
    if (start < cursor) {
      throw new VitkitError(
        'WEIGHTS_OFFSETS_INVALID',
        `${source}: tensor "${name}" overlaps the tensor before it (starts at ${start}, previous ends at ${cursor}).`,
      );
    }
    if (end > dataLength) {
      throw new VitkitError(
        'WEIGHTS_TRUNCATED',
        `${source}: tensor "${name}" ends at byte ${end} but the data section has ${dataLength}; the file is truncated.`,
      );
    }
    cursor = end;
  }
}

/** A tensor's place in a safetensors file: what `safetensorsHeader` lays out before any data is at hand. */
export interface TensorToWrite {
  name: string;
  dtype: DType;
  shape: readonly number[];
}

/**
 * The bytes that open a safetensors file (length prefix + JSON header) for these entries, their data
 * following in the order given. Lets a writer stream tensors it produces one at a time, for files
 * larger than one buffer can hold.
 */
export function safetensorsHeader(entries: readonly TensorToWrite[], metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const { name, dtype, shape } of entries) {
    const stored = TO_SAFETENSORS[dtype];
    if (!stored) throw new VitkitError('TENSOR_DTYPE_UNSUPPORTED', `Cannot write dtype ${dtype} to safetensors.`);
    const n = shapeSize(shape) * BYTES_PER_ELEMENT[dtype];
    header[name] = { dtype: stored, shape, data_offsets: [offset, offset + n] };
    offset += n;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so tensor data starts 8-byte aligned, as the reference writer does.
  json += ' '.repeat((8 - ((8 + new TextEncoder().encode(json).length) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  return out;
}

/** Serializes tensors in safetensors layout, names sorted as the Python writer does. */
export function writeSafetensors(tensors: Map<string, Tensor> | Record<string, Tensor>, metadata?: Record<string, string>): Uint8Array {
  const map = tensors instanceof Map ? tensors : new Map(Object.entries(tensors));
  const names = [...map.keys()].sort();
  const header = safetensorsHeader(
    names.map((name) => {
      const t = map.get(name) as Tensor;
      return { name, dtype: t.dtype, shape: t.shape };
    }),
    metadata,
  );
  const dataBytes = names.reduce((n, name) => n + (map.get(name) as Tensor).data.byteLength, 0);
  const out = new Uint8Array(header.byteLength + dataBytes);
  out.set(header);
  let cursor = header.byteLength;
  for (const name of names) {
    const t = map.get(name) as Tensor;
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), cursor);
    cursor += t.data.byteLength;
  }
  return out;
}
