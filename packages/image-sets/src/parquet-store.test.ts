import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Dinov2 } from '@vitkit/dino';
import { tableFromIPC } from 'apache-arrow';
import { initSync, readParquet } from 'parquet-wasm/esm';
import { afterAll, describe, expect, it } from 'vitest';
import { buildImageIndex } from './build-index.js';
import { ParquetImageStore } from './parquet-store.js';
import { makeImageFolder, TINY_DINOV2 } from './test-support/image-folder.js';

// parquet-wasm 0.7's node entry is CommonJS in an ESM package; its ESM build is started by hand.
initSync({ module: readFileSync(createRequire(import.meta.url).resolve('parquet-wasm/esm/parquet_wasm_bg.wasm')) });

const { dir, images } = await makeImageFolder();
const work = mkdtempSync(join(tmpdir(), 'vitkit-parquet-'));
const model = await Dinov2.fromPretrained(TINY_DINOV2);
afterAll(async () => {
  await model.dispose();
  rmSync(dir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

/** A part read by another Parquet implementation (arrow-rs, through parquet-wasm), as pyarrow or DuckDB would see it. */
interface ArrowRow {
  path: string;
  hash: string;
  model: string;
  dtype: string;
  cls: { toArray(): Float32Array };
  pooled: { toArray(): Float32Array };
}

function readWithArrow(path: string): ArrowRow[] {
  const table = tableFromIPC(readParquet(readFileSync(path)).intoIPCStream());
  return table.toArray().map((row) => row.toJSON() as ArrowRow);
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
}

describe('--format parquet', () => {
  it('writes parts another Parquet reader reads, row i being image i, and resumes without duplicates', async () => {
    const out = join(work, 'set');
    const stop = new AbortController();
    const options = { model, out, format: 'parquet' as const, batchSize: 2, decodeWorkers: 0 };
    const first = await buildImageIndex(images, { ...options, signal: stop.signal, onProgress: () => stop.abort() });
    expect(first).toMatchObject({ embedded: 2, stopped: true, rows: 2 });
    // A part a kill cut short: written under its temporary name, never renamed.
    writeFileSync(join(out, 'part-000007.parquet.tmp'), 'PAR1 cut');
    const rest = await buildImageIndex(images, options);
    expect(rest).toMatchObject({ embedded: images.length - 2, skipped: 2, rows: images.length });
    expect(readdirSync(out).sort()).toEqual(['part-000000.parquet', 'part-000001.parquet']);

    const rows = readdirSync(out).flatMap((part) => readWithArrow(join(out, part)));
    expect(rows.map((r) => r.path).sort()).toEqual(images);
    expect(new Set(rows.map((r) => r.hash)).size).toBe(images.length);
    for (const row of rows) {
      expect(row.model).toBe(model.files.source);
      expect(row.dtype).toBe('fp32');
      const direct = await model.embed(row.path);
      // Embedded in batches of 2 against one at a time: the same up to float rounding.
      expect(maxAbsDiff(row.cls.toArray(), direct.cls.data)).toBeLessThan(1e-5);
      expect(maxAbsDiff(row.pooled.toArray(), direct.pooled!.data)).toBeLessThan(1e-5);
    }
    // And the store's own reader agrees with arrow-rs.
    const own = await ParquetImageStore.read(out);
    expect(own.map((r) => r.path)).toEqual(rows.map((r) => r.path));
    expect(Array.from(own[0].cls)).toEqual(Array.from(rows[0].cls.toArray()));
  });

  it('refuses another model’s index, a file it did not write, and patch features', async () => {
    await expect(ParquetImageStore.open(join(work, 'set'), 'facebook/dinov2-base')).rejects.toMatchObject({ code: 'INDEX_MODEL_MISMATCH' });
    const bad = join(work, 'bad');
    await ParquetImageStore.open(bad, 'm');
    writeFileSync(join(bad, 'part-000000.parquet'), 'garbage'.repeat(40));
    await expect(ParquetImageStore.open(bad, 'm')).rejects.toMatchObject({ code: 'INDEX_INVALID' });
    await expect(buildImageIndex(images, { model, out: join(work, 'p'), format: 'parquet', patches: true })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });
});
