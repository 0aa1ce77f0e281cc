import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ModelDtype, VitkitError } from '@vitkit/core';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import type { EmbeddedImage } from './embed-images.js';
import { precisionMismatch, storedPrecision } from './precision.js';

/** Rows buffered before a part file is written: few enough to lose little to a kill -9, many enough to keep files few. */
const ROWS_PER_PART = 4096;
const PART = /^part-(\d{6})\.parquet$/;
const MODEL_KEY = 'vitkit.model';
const PRECISION_KEY = 'vitkit.dtype';

/** A `LIST<FLOAT>` column (3-level, as Arrow and pyarrow write lists): a vector per row. */
const vectorColumn = (name: string, repetition: 'REQUIRED' | 'OPTIONAL') => [
  { name, repetition_type: repetition, num_children: 1, converted_type: 'LIST' as const },
  { name: 'list', repetition_type: 'REPEATED' as const, num_children: 1 },
  { name: 'element', repetition_type: 'REQUIRED' as const, type: 'FLOAT' as const },
];
const stringColumn = (name: string) => ({
  name,
  repetition_type: 'REQUIRED' as const,
  type: 'BYTE_ARRAY' as const,
  converted_type: 'UTF8' as const,
});

/**
 * `--format parquet`: the index as Parquet files in a folder (`part-000000.parquet`, …), one row
 * per image with path, content hash, model id, dtype (the weights' precision) and the CLS (and pooled) vectors as
 * `LIST<FLOAT>` columns, readable by pyarrow, pandas, DuckDB or Polars as one dataset
 * (`pyarrow.dataset.dataset(dir)`). A Parquet file is complete only once its footer is written,
 * so rows are buffered and written a part at a time, each to a temporary name and renamed: a
 * killed run leaves whole parts only, and resuming skips the hashes they hold.
 */
export class ParquetImageStore {
  private pending: EmbeddedImage[] = [];

  private constructor(
    readonly dir: string,
    readonly modelId: string,
    readonly precision: ModelDtype,
    private readonly hashes: Set<string>,
    private nextPart: number,
    private rows: number,
  ) {}

  static async open(dir: string, modelId: string, precision: ModelDtype = 'fp32'): Promise<ParquetImageStore> {
    mkdirSync(dir, { recursive: true });
    const hashes = new Set<string>();
    let nextPart = 0;
    let rows = 0;
    for (const name of readdirSync(dir)) {
      // A part a killed run was still writing: never renamed, never counted.
      if (name.endsWith('.parquet.tmp')) {
        rmSync(join(dir, name), { force: true });
        continue;
      }
      const match = PART.exec(name);
      if (!match) continue;
      nextPart = Math.max(nextPart, Number(match[1]) + 1);
      const part = await readPart(join(dir, name));
      if (part.modelId !== modelId) {
        throw new VitkitError(
          'INDEX_MODEL_MISMATCH',
          `${dir} holds ${part.modelId} embeddings, not ${modelId}: use that model, or another --out.`,
        );
      }
      if (part.precision !== precision) {
        throw precisionMismatch(dir, modelId, part.precision, precision);
      }
      for (const h of part.hashes) hashes.add(h);
      rows += part.hashes.length;
    }
    return new ParquetImageStore(dir, modelId, precision, hashes, nextPart, rows);
  }

  async storedHashes(): Promise<Set<string>> {
    return new Set(this.hashes);
  }

  async count(): Promise<number> {
    return this.rows;
  }

  async add(images: EmbeddedImage[]): Promise<void> {
    this.pending.push(...images);
    if (this.pending.length >= ROWS_PER_PART) await this.flush();
  }

  /** Writes what is buffered as one more part. */
  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const rows = this.pending;
    this.pending = [];
    const pooled = rows.every((r) => r.pooled !== undefined);
    const name = `part-${String(this.nextPart).padStart(6, '0')}.parquet`;
    const bytes = parquetWriteBuffer({
      columnData: [
        { name: 'path', data: rows.map((r) => r.path) },
        { name: 'hash', data: rows.map((r) => r.hash) },
        { name: 'model', data: rows.map(() => this.modelId) },
        { name: 'dtype', data: rows.map(() => this.precision) },
        { name: 'cls', data: rows.map((r) => Array.from(r.cls)) },
        ...(pooled ? [{ name: 'pooled', data: rows.map((r) => Array.from(r.pooled as Float32Array)) }] : []),
      ],
      schema: [
        { name: 'schema', num_children: pooled ? 6 : 5 },
        stringColumn('path'),
        stringColumn('hash'),
        stringColumn('model'),
        stringColumn('dtype'),
        ...vectorColumn('cls', 'REQUIRED'),
        ...(pooled ? vectorColumn('pooled', 'REQUIRED') : []),
      ],
      kvMetadata: [
        { key: MODEL_KEY, value: this.modelId },
        { key: PRECISION_KEY, value: this.precision },
      ],
    });
    const path = join(this.dir, name);
    writeFileSync(`${path}.tmp`, new Uint8Array(bytes));
    renameSync(`${path}.tmp`, path);
    this.nextPart++;
    this.rows += rows.length;
    for (const r of rows) this.hashes.add(r.hash);
  }

  async finish(): Promise<{ rows: number; annIndex: boolean }> {
    await this.flush();
    return { rows: this.rows, annIndex: false };
  }

  close(): void {}

  /** Every row the parts hold, in part order (tests, and anyone reading the index back in JS). */
  static async read(
    dir: string,
  ): Promise<{ path: string; hash: string; model: string; dtype: string; cls: Float32Array; pooled?: Float32Array }[]> {
    if (!existsSync(dir)) throw new VitkitError('FILE_NOT_FOUND', `No Parquet index at ${dir}.`);
    const parts = readdirSync(dir)
      .filter((n) => PART.test(n))
      .sort();
    const out = [];
    for (const name of parts) {
      const rows = (await parquetReadObjects({ file: await asyncBufferFromFile(join(dir, name)) })) as {
        path: string;
        hash: string;
        model: string;
        dtype: string;
        cls: number[];
        pooled?: number[];
      }[];
      for (const r of rows)
        out.push({
          path: r.path,
          hash: r.hash,
          model: r.model,
          dtype: r.dtype,
          cls: Float32Array.from(r.cls),
          ...(r.pooled ? { pooled: Float32Array.from(r.pooled) } : {}),
        });
    }
    return out;
  }
}

/**
 * One part's model id (its key-value metadata) and hashes, read by range (footer and the hash
 * column only, not the vectors); a file that is not such a part is refused.
 */
async function readPart(path: string): Promise<{ modelId: string; precision: ModelDtype; hashes: string[] }> {
  try {
    const file = await asyncBufferFromFile(path);
    const metadata = await parquetMetadataAsync(file);
    const modelId = metadata.key_value_metadata?.find((kv) => kv.key === MODEL_KEY)?.value;
    const precision = metadata.key_value_metadata?.find((kv) => kv.key === PRECISION_KEY)?.value;
    if (modelId === undefined || precision === undefined) throw new Error(`no ${MODEL_KEY} / ${PRECISION_KEY} metadata`);
    const rows = (await parquetReadObjects({ file, columns: ['hash'], metadata })) as { hash: string }[];
    return { modelId, precision: storedPrecision(precision, path), hashes: rows.map((r) => r.hash) };
  } catch (cause) {
    throw new VitkitError('INDEX_INVALID', `${path} is not a part this store wrote; move it away or use another --out.`, { cause });
  }
}
