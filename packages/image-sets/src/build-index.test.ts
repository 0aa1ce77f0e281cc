import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cosineSimilarity } from '@vitkit/core/internal';
import { Dinov2 } from '@vitkit/dino';
import { afterAll, describe, expect, it } from 'vitest';
import { buildImageIndex } from './build-index.js';
import { ImageIndex } from './image-index.js';
import { NpyImageStore } from './npy-store.js';
import { ParquetImageStore } from './parquet-store.js';
import { addBrokenJpeg, makeImageFolder, TINY_DINOV2 } from './test-support/image-folder.js';

const { dir, images } = await makeImageFolder();
const broken = addBrokenJpeg(dir);
const work = mkdtempSync(join(tmpdir(), 'vitkit-index-'));
const model = await Dinov2.fromPretrained(TINY_DINOV2);
const int8 = await Dinov2.fromPretrained(TINY_DINOV2, { dtype: 'int8' });
afterAll(async () => {
  await model.dispose();
  await int8.dispose();
  rmSync(dir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

async function storedPaths(out: string): Promise<string[]> {
  const index = await ImageIndex.open(out);
  try {
    return (await index.vectors()).map((v) => v.path).sort();
  } finally {
    index.close();
  }
}

describe('buildImageIndex', () => {
  it('stores every decodable image once, reports the broken one, and a re-run embeds nothing', async () => {
    const out = join(work, 'full');
    const first = await buildImageIndex(dir, { model, out, batchSize: 2, decodeWorkers: 0 });
    expect(first).toMatchObject({ total: images.length + 1, embedded: images.length, skipped: 0, rows: images.length, stopped: false });
    expect(first.failed.map((f) => [f.path, f.code])).toEqual([[broken, 'IMAGE_UNDECODABLE']]);
    const again = await buildImageIndex(dir, { model, out, batchSize: 2, decodeWorkers: 0 });
    expect(again).toMatchObject({ embedded: 0, skipped: images.length, rows: images.length });
    expect(await storedPaths(out)).toEqual(images);
  });

  it('a stopped run continues where it stopped, with no duplicates', async () => {
    const out = join(work, 'resumed');
    const stop = new AbortController();
    const partial = await buildImageIndex(images, {
      model,
      out,
      batchSize: 2,
      decodeWorkers: 0,
      signal: stop.signal,
      onProgress: () => stop.abort(),
    });
    expect(partial.stopped).toBe(true);
    expect(partial.rows).toBe(2);
    const rest = await buildImageIndex(images, { model, out, batchSize: 2, decodeWorkers: 0 });
    expect(rest).toMatchObject({ embedded: images.length - 2, skipped: 2, rows: images.length });
    expect(await storedPaths(out)).toEqual(images);
  });

  it('refuses to mix two models in one index', async () => {
    const out = join(work, 'full');
    await expect(ImageIndex.open(out, { modelId: 'facebook/dinov2-base' })).rejects.toMatchObject({ code: 'INDEX_MODEL_MISMATCH' });
    await expect(ImageIndex.open(join(work, 'none'))).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
  });
});

/** The precision a finished store says its vectors came from, read back through the store's own reader. */
const precisionOf: Record<'lance' | 'npy' | 'parquet', (out: string) => Promise<string>> = {
  lance: async (out) => {
    const index = await ImageIndex.open(out);
    index.close();
    return index.precision;
  },
  npy: async (out) => NpyImageStore.read(out).precision,
  parquet: async (out) => (await ParquetImageStore.read(out))[0].dtype,
};

describe.each(['lance', 'npy', 'parquet'] as const)('one %s index holds one precision', (format) => {
  it('records int8 vectors as int8 and refuses to resume them with fp32 weights (or the other way round)', async () => {
    const out = join(work, `int8-${format}`);
    const first = await buildImageIndex(images.slice(0, 2), { model: int8, out, format, decodeWorkers: 0 });
    expect(first.rows).toBe(2);
    expect(await precisionOf[format](out)).toBe('int8');
    await expect(buildImageIndex(images, { model, out, format, decodeWorkers: 0 })).rejects.toMatchObject({
      code: 'INDEX_MODEL_MISMATCH',
      message: expect.stringContaining('holds int8 embeddings'),
    });
    const rest = await buildImageIndex(images, { model: int8, out, format, decodeWorkers: 0 });
    expect(rest).toMatchObject({ skipped: 2, rows: images.length });
  });
});

describe('ImageIndex.search', () => {
  it('ranks as a brute-force cosine over the same stored vectors does', async () => {
    const index = await ImageIndex.open(join(work, 'full'));
    try {
      const stored = await index.vectors();
      const query = (await model.embed(join(dir, 'a', 'cats.jpg'))).cls.data;
      const expected = stored
        .map((s) => ({ path: s.path, similarity: cosineSimilarity(query, s.cls) }))
        .sort((a, b) => b.similarity - a.similarity)
        .slice(0, 3);
      const hits = await index.search(query, 3);
      expect(hits.map((h) => h.path)).toEqual(expected.map((e) => e.path));
      hits.forEach((h, i) => expect(h.similarity).toBeCloseTo(expected[i].similarity, 5));
      expect(hits[0].path).toBe(join(dir, 'a', 'cats.jpg'));
      expect(hits[0].similarity).toBeCloseTo(1, 5);
    } finally {
      index.close();
    }
  });
});
