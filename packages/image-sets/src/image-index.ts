import { existsSync } from 'node:fs';
import * as lancedb from '@lancedb/lancedb';
import { type ModelDtype, VitkitError } from '@vitkit/core';
import { Field, FixedSizeList, Float32, Int32, List, Schema, Utf8 } from 'apache-arrow';
import type { EmbeddedImage } from './embed-images.js';
import { precisionMismatch, storedPrecision } from './precision.js';

const TABLE = 'images';
/** Rows buffered before a LanceDB commit: few enough to lose little to a kill -9, many enough to keep fragments few. */
const FLUSH_ROWS = 256;
/** Below this many rows an exact (flat) cosine scan is fast enough; above it `finish` builds an IVF-PQ index. */
export const ANN_MIN_ROWS = 50_000;

export interface SearchHit {
  path: string;
  hash: string;
  /** Cosine similarity of the stored CLS vector to the query (1 = same direction). */
  similarity: number;
}

/**
 * An image index: a LanceDB table (`images`) in a folder, one row per image with its path,
 * content hash, model id, dtype (the weight precision the vectors came from: fp32, int8, …),
 * CLS and pooled vectors and, optionally, patch features. One index holds one model's vectors
 * at one precision; another needs its own folder.
 */
export class ImageIndex {
  private pending: EmbeddedImage[] = [];
  /** LanceDB commits made through this handle (each adds a fragment and a version). */
  private commits = 0;

  private constructor(
    readonly dir: string,
    private readonly db: lancedb.Connection,
    private table: lancedb.Table | undefined,
    readonly modelId: string | undefined,
    /** The weight precision of the stored vectors (what `search` embeds a query with). */
    readonly precision: ModelDtype,
  ) {}

  /** Opens (or, with `create`, starts) the index in `dir`. `modelId` and `precision` must match what the index holds. */
  static async open(dir: string, options: { modelId?: string; precision?: ModelDtype; create?: boolean } = {}): Promise<ImageIndex> {
    if (!options.create && !existsSync(dir)) {
      throw new VitkitError('FILE_NOT_FOUND', `No index at ${dir}: build one with \`vitkit embed <folder> --out ${dir}\`.`);
    }
    const db = await lancedb.connect(dir);
    const names = await db.tableNames();
    if (!names.includes(TABLE)) {
      if (!options.create) throw new VitkitError('INDEX_INVALID', `${dir} is not a vitkit image index (no "${TABLE}" table).`);
      return new ImageIndex(dir, db, undefined, options.modelId, options.precision ?? 'fp32');
    }
    const table = await db.openTable(TABLE);
    const first = (await table.query().select(['model', 'dtype']).limit(1).toArray())[0] as { model: string; dtype: string } | undefined;
    const stored = first?.model;
    const precision = first ? storedPrecision(first.dtype, dir) : (options.precision ?? 'fp32');
    if (stored !== undefined && options.modelId !== undefined && stored !== options.modelId) {
      throw new VitkitError(
        'INDEX_MODEL_MISMATCH',
        `${dir} holds ${stored} embeddings, not ${options.modelId}: use that model, or another --out for this one.`,
      );
    }
    if (first && options.precision !== undefined && precision !== options.precision) {
      throw precisionMismatch(dir, stored, precision, options.precision);
    }
    return new ImageIndex(dir, db, table, stored ?? options.modelId, precision);
  }

  /** Rows stored (committed). */
  async count(): Promise<number> {
    return this.table ? this.table.countRows() : 0;
  }

  /** Content hashes already stored: a resumed run skips these. */
  async storedHashes(): Promise<Set<string>> {
    if (!this.table) return new Set();
    const rows = (await this.table.query().select(['hash']).toArray()) as { hash: string }[];
    return new Set(rows.map((r) => r.hash));
  }

  /** Buffers rows and commits them in groups; `flush` (or `finish`) commits the rest. */
  async add(images: EmbeddedImage[]): Promise<void> {
    this.pending.push(...images);
    if (this.pending.length >= FLUSH_ROWS) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const rows = this.pending;
    this.pending = [];
    const modelId = this.modelId ?? 'unknown';
    const records = rows.map((r) => ({
      path: r.path,
      hash: r.hash,
      model: modelId,
      dtype: this.precision,
      cls: Array.from(r.cls),
      pooled: r.pooled ? Array.from(r.pooled) : null,
      patches: r.patches ? Array.from(r.patches) : null,
      grid_h: r.patchGrid?.[0] ?? null,
      grid_w: r.patchGrid?.[1] ?? null,
    }));
    if (!this.table) {
      this.table = await this.db.createEmptyTable(TABLE, imageSchema(rows[0].cls.length), { mode: 'create', existOk: true });
    }
    await this.table.add(records);
    this.commits++;
  }

  /** Commits what is buffered and, once the table is large, builds the ANN index search then uses. */
  async finish(options: { annMinRows?: number } = {}): Promise<{ rows: number; annIndex: boolean }> {
    await this.flush();
    const rows = await this.count();
    let annIndex = false;
    if (this.table) {
      const indices = await this.table.listIndices();
      annIndex = indices.some((i) => i.columns.includes('cls'));
      // LanceDB's rule of thumb: compact after about 20 commits; an ANN index also needs the new rows folded in.
      if (this.commits >= 20 || (annIndex && this.commits > 0)) await this.table.optimize();
      this.commits = 0;
      if (!annIndex && rows >= (options.annMinRows ?? ANN_MIN_ROWS)) {
        await this.table.createIndex('cls', { config: lancedb.Index.ivfPq({ distanceType: 'cosine' }) });
        annIndex = true;
      }
    }
    return { rows, annIndex };
  }

  /** The k stored images nearest to `vector` by cosine (exact below the ANN threshold, IVF-PQ above). */
  async search(vector: Float32Array, k = 10): Promise<SearchHit[]> {
    if (!this.table) return [];
    const rows = (await this.table
      .vectorSearch(Array.from(vector))
      .column('cls')
      .distanceType('cosine')
      .select(['path', 'hash', '_distance'])
      .limit(k)
      .toArray()) as { path: string; hash: string; _distance: number }[];
    return rows.map((r) => ({ path: r.path, hash: r.hash, similarity: 1 - r._distance }));
  }

  /** Every stored row's path and CLS vector, in storage order (for k-NN over an index, or export). */
  async vectors(): Promise<{ path: string; cls: Float32Array }[]> {
    if (!this.table) return [];
    const rows = (await this.table.query().select(['path', 'cls']).toArray()) as { path: string; cls: { toArray(): Float32Array } }[];
    return rows.map((r) => ({ path: r.path, cls: Float32Array.from(r.cls.toArray()) }));
  }

  close(): void {
    this.table?.close();
    this.db.close();
  }
}

function imageSchema(dim: number): Schema {
  const vector = () => new FixedSizeList(dim, new Field('item', new Float32(), true));
  return new Schema([
    new Field('path', new Utf8(), false),
    new Field('hash', new Utf8(), false),
    new Field('model', new Utf8(), false),
    new Field('dtype', new Utf8(), false),
    new Field('cls', vector(), false),
    new Field('pooled', vector(), true),
    new Field('patches', new List(new Field('item', new Float32(), true)), true),
    new Field('grid_h', new Int32(), true),
    new Field('grid_w', new Int32(), true),
  ]);
}
