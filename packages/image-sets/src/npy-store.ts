import { closeSync, existsSync, fstatSync, ftruncateSync, mkdirSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { type ModelDtype, VitkitError } from '@vitkit/core';
import type { EmbeddedImage } from './embed-images.js';
import { precisionMismatch, storedPrecision } from './precision.js';

// A fixed-size header (numpy format 1.0), so the row count can be rewritten in place after every append.
const HEADER_BYTES = 128;
const MAGIC = '\x93NUMPY';

interface RowMeta {
  path: string;
  hash: string;
  model: string;
  /** The weight precision the vectors came from; absent in stores written before it was kept (fp32). */
  dtype?: string;
}

/**
 * The plain alternative to the LanceDB index (`--format npy`): `cls.npy` and `pooled.npy`
 * ([N, C] float32, readable by `numpy.load`) and `rows.jsonl` (row i's path, hash and model).
 * Appends are ordered vectors first, then the row line, so a killed run leaves at most vectors
 * without a row; reopening cuts them off, and resuming skips the stored hashes as the index does.
 */
export class NpyImageStore {
  private constructor(
    readonly dir: string,
    readonly modelId: string,
    readonly precision: ModelDtype,
    private rows: RowMeta[],
    private dim: number,
  ) {}

  static open(dir: string, modelId: string, precision: ModelDtype = 'fp32'): NpyImageStore {
    mkdirSync(dir, { recursive: true });
    const rowsPath = join(dir, 'rows.jsonl');
    let rows: RowMeta[] = [];
    if (existsSync(rowsPath)) {
      const text = readFileSync(rowsPath, 'utf8');
      // A line without its newline was cut by a kill: drop it.
      const complete = text.slice(0, text.lastIndexOf('\n') + 1);
      rows = complete
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as RowMeta);
      const fd = openSync(rowsPath, 'r+');
      ftruncateSync(fd, Buffer.byteLength(complete));
      closeSync(fd);
    }
    const stored = rows[0]?.model;
    if (stored !== undefined && stored !== modelId) {
      throw new VitkitError('INDEX_MODEL_MISMATCH', `${dir} holds ${stored} embeddings, not ${modelId}: use that model, or another --out.`);
    }
    const held = rows[0] ? storedPrecision(rows[0].dtype, rowsPath) : undefined;
    if (held !== undefined && held !== precision) {
      throw precisionMismatch(dir, stored, held, precision);
    }
    let dim = 0;
    for (const name of ['cls', 'pooled']) {
      const path = join(dir, `${name}.npy`);
      if (!existsSync(path)) continue;
      dim = truncateNpy(path, rows.length);
    }
    return new NpyImageStore(dir, modelId, precision, rows, dim);
  }

  /** Every row a store holds, vectors included (a shard folded into an index by `mergeShards`). */
  static read(dir: string): { modelId: string | undefined; precision: ModelDtype; rows: EmbeddedImage[] } {
    const first = readFirstRow(dir);
    const store = NpyImageStore.open(dir, first?.model ?? '', storedPrecision(first?.dtype, join(dir, 'rows.jsonl')));
    const cls = readNpy(join(dir, 'cls.npy'), store.rows.length);
    const pooled = existsSync(join(dir, 'pooled.npy')) ? readNpy(join(dir, 'pooled.npy'), store.rows.length) : undefined;
    const dim = store.dim;
    const rows = store.rows.map((r, i) => ({
      path: r.path,
      hash: r.hash,
      cls: cls.slice(i * dim, (i + 1) * dim),
      ...(pooled ? { pooled: pooled.slice(i * dim, (i + 1) * dim) } : {}),
    }));
    return { modelId: store.rows[0]?.model, precision: store.precision, rows };
  }

  async storedHashes(): Promise<Set<string>> {
    return new Set(this.rows.map((r) => r.hash));
  }

  async count(): Promise<number> {
    return this.rows.length;
  }

  async add(images: EmbeddedImage[]): Promise<void> {
    if (images.length === 0) return;
    if (this.dim === 0) this.dim = images[0].cls.length;
    appendNpy(
      join(this.dir, 'cls.npy'),
      this.dim,
      this.rows.length,
      images.map((i) => i.cls),
    );
    if (images[0].pooled)
      appendNpy(
        join(this.dir, 'pooled.npy'),
        this.dim,
        this.rows.length,
        images.map((i) => i.pooled as Float32Array),
      );
    const meta = (i: EmbeddedImage): RowMeta => ({ path: i.path, hash: i.hash, model: this.modelId, dtype: this.precision });
    const lines = images.map((i) => JSON.stringify(meta(i))).join('\n');
    const fd = openSync(join(this.dir, 'rows.jsonl'), 'a');
    writeSync(fd, `${lines}\n`);
    closeSync(fd);
    this.rows.push(...images.map(meta));
  }

  async flush(): Promise<void> {}

  async finish(): Promise<{ rows: number; annIndex: boolean }> {
    return { rows: this.rows.length, annIndex: false };
  }

  close(): void {}
}

function header(rows: number, dim: number): Buffer {
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${dim}), }`;
  const out = Buffer.alloc(HEADER_BYTES, 0x20);
  out.write(MAGIC, 0, 'latin1');
  out[6] = 1; // version 1.0
  out[7] = 0;
  out.writeUInt16LE(HEADER_BYTES - 10, 8);
  out.write(dict, 10, 'latin1');
  out[HEADER_BYTES - 1] = 0x0a;
  return out;
}

/** Writes `vectors` as rows `start…` of an [N, dim] file, then the header that counts them. */
function appendNpy(path: string, dim: number, start: number, vectors: Float32Array[]): void {
  const fd = openSync(path, existsSync(path) ? 'r+' : 'w+');
  try {
    const data = new Float32Array(vectors.length * dim);
    vectors.forEach((v, i) => data.set(v, i * dim));
    writeSync(fd, new Uint8Array(data.buffer), 0, data.byteLength, HEADER_BYTES + start * dim * 4);
    writeSync(fd, header(start + vectors.length, dim), 0, HEADER_BYTES, 0);
  } finally {
    closeSync(fd);
  }
}

function readFirstRow(dir: string): RowMeta | undefined {
  const rowsPath = join(dir, 'rows.jsonl');
  if (!existsSync(rowsPath)) return undefined;
  const first = readFileSync(rowsPath, 'utf8').split('\n', 1)[0];
  return first ? (JSON.parse(first) as RowMeta) : undefined;
}

/** The first `rows` rows of an [N, dim] float32 file this store wrote, flat. */
function readNpy(path: string, rows: number): Float32Array {
  if (rows === 0 || !existsSync(path)) return new Float32Array(0);
  const bytes = readFileSync(path);
  const body = bytes.subarray(HEADER_BYTES);
  // `open` has already cut the file to the rows rows.jsonl names.
  return new Float32Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength));
}

/** Cuts an npy file to `rows` rows (vectors a killed run wrote without their row line) and returns its width. */
function truncateNpy(path: string, rows: number): number {
  const fd = openSync(path, 'r+');
  try {
    const head = Buffer.alloc(HEADER_BYTES);
    readSync(fd, head, 0, HEADER_BYTES, 0);
    const match = /'shape': \((\d+), (\d+)\)/.exec(head.toString('latin1'));
    if (head.toString('latin1', 0, 6) !== MAGIC || !match || fstatSync(fd).size < HEADER_BYTES) {
      throw new VitkitError('INDEX_INVALID', `${path} is not an npy file this store wrote; move it away or use another --out.`);
    }
    const dim = Number(match[2]);
    ftruncateSync(fd, HEADER_BYTES + rows * dim * 4);
    writeSync(fd, header(rows, dim), 0, HEADER_BYTES, 0);
    return dim;
  } finally {
    closeSync(fd);
  }
}
