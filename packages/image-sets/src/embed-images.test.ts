import { rmSync } from 'node:fs';
import { Dinov2 } from '@vitkit/dino';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeForModel, readAndHash } from './decode-image.js';
import { createDecodePool } from './decode-pool.js';
import { type EmbedBatch, embedImages } from './embed-images.js';
import { addBrokenJpeg, makeImageFolder, TINY_DINOV2 } from './test-support/image-folder.js';

const { dir, images } = await makeImageFolder();
const broken = addBrokenJpeg(dir);
const model = await Dinov2.fromPretrained(TINY_DINOV2);
afterAll(async () => {
  await model.dispose();
  rmSync(dir, { recursive: true, force: true });
});

async function collect(source: string | string[], options: Partial<Parameters<typeof embedImages>[1]> = {}): Promise<EmbedBatch[]> {
  const batches: EmbedBatch[] = [];
  for await (const b of embedImages(source, { model, batchSize: 2, decodeWorkers: 0, ...options })) batches.push(b);
  return batches;
}

describe('embedImages', () => {
  it('embeds every image of a folder in batches, each as the single-image API does', async () => {
    const batches = await collect(dir);
    const embedded = batches.flatMap((b) => b.embedded);
    expect(embedded.map((e) => e.path).sort()).toEqual(images);
    expect(batches.filter((b) => b.embedded.length > 0).map((b) => b.embedded.length)).toEqual([2, 2, 1]);
    expect(batches.at(-1)?.done).toBe(images.length + 1);
    for (const e of embedded) {
      const one = await model.embed(e.path);
      expect(e.cls.length).toBe(32);
      for (let i = 0; i < 32; i++) expect(e.cls[i]).toBeCloseTo(one.cls.data[i], 5);
      expect(e.pooled?.length).toBe(32);
      expect(e.hash).toBe((await readAndHash(e.path)).hash);
    }
  });

  it('reports an undecodable or missing file with its path and code, and goes on', async () => {
    const failed = (await collect([broken, images[0], `${dir}/missing.jpg`])).flatMap((b) => b.failed);
    expect(failed.map((f) => [f.path, f.code])).toEqual([
      [broken, 'IMAGE_UNDECODABLE'],
      [`${dir}/missing.jpg`, 'ENOENT'],
    ]);
  });

  it('skips what skip() names, before decoding', async () => {
    const keep = images[1];
    const skipHash = new Set((await Promise.all(images.filter((p) => p !== keep).map(readAndHash))).map((r) => r.hash));
    const batches = await collect(images, { skip: (h) => skipHash.has(h) });
    expect(batches.flatMap((b) => b.embedded).map((e) => e.path)).toEqual([keep]);
    expect(batches.reduce((s, b) => s + b.skipped, 0)).toBe(images.length - 1);
  });

  it('returns patch features on request', async () => {
    const [e] = (await collect([images[0]], { patches: true }))[0].embedded;
    expect(e.patchGrid).toEqual([4, 4]);
    expect(e.patches?.length).toBe(4 * 4 * 32);
  });

  it('stops after the batch in flight when the signal aborts', async () => {
    const stop = new AbortController();
    const seen: string[] = [];
    for await (const b of embedImages(images, { model, batchSize: 1, decodeWorkers: 0, signal: stop.signal })) {
      seen.push(...b.embedded.map((e) => e.path));
      stop.abort();
    }
    expect(seen).toEqual([images[0]]);
  });
});

describe('decode workers', () => {
  it('a worker thread (piscina, sharp inside) gives the same pixel_values as the calling thread', async () => {
    const loader = new URL('../../cli/src/test-support/source-loader.mjs', import.meta.url).href;
    const register = `data:text/javascript,import{register}from'node:module';register(${JSON.stringify(loader)});`;
    const config = model.files.preprocessorConfig ?? {};
    const pool = createDecodePool(config, 1, { file: new URL('./decode-worker.ts', import.meta.url), execArgv: ['--import', register] });
    try {
      expect(pool.workers).toBe(1);
      for (const path of [images[0], broken]) {
        const inThread = await decodeForModel((await readAndHash(path)).bytes, config);
        const inWorker = await pool.decode((await readAndHash(path)).bytes);
        expect(inWorker.ok).toBe(inThread.ok);
        if (inWorker.ok && inThread.ok) expect(inWorker.pixels).toEqual(inThread.pixels);
        else expect(inWorker).toEqual(inThread);
      }
    } finally {
      await pool.close();
    }
  });
});
