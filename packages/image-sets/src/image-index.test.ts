import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { EmbeddedImage } from './embed-images.js';
import { ImageIndex } from './image-index.js';

const work = mkdtempSync(join(tmpdir(), 'vitkit-image-index-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Seeded vectors: the index's own behaviour, no model needed. */
function rows(count: number, dim: number, seed: number): EmbeddedImage[] {
  let s = seed;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
  return Array.from({ length: count }, (_, i) => ({
    path: `img-${seed}-${i}.jpg`,
    hash: `hash-${seed}-${i}`,
    cls: Float32Array.from({ length: dim }, next),
  }));
}

describe('ImageIndex at scale', () => {
  it('compacts after many commits and builds a cosine ANN index above the row threshold; search still finds a stored vector', async () => {
    const index = await ImageIndex.open(join(work, 'ann'), { modelId: 'm', create: true });
    try {
      const all: EmbeddedImage[] = [];
      for (let commit = 0; commit < 21; commit++) {
        const batch = rows(16, 16, commit + 1);
        all.push(...batch);
        await index.add(batch);
        await index.flush();
      }
      const { rows: count, annIndex } = await index.finish({ annMinRows: 256 });
      expect(count).toBe(21 * 16);
      expect(annIndex).toBe(true);
      const hits = await index.search(all[100].cls, 5);
      expect(hits).toHaveLength(5);
      for (let i = 1; i < hits.length; i++) expect(hits[i].similarity).toBeLessThanOrEqual(hits[i - 1].similarity + 1e-6);
      expect(hits.map((h) => h.path)).toContain(all[100].path);
      expect((await index.storedHashes()).size).toBe(21 * 16);
    } finally {
      index.close();
    }
  });

  it('is not fooled by a folder that holds no image table', async () => {
    await expect(ImageIndex.open(work)).rejects.toMatchObject({ code: 'INDEX_INVALID' });
  });
});
