import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Dinov2 } from '@vitkit/dino';
import { afterAll, describe, expect, it } from 'vitest';
import { buildImageIndex } from './build-index.js';
import { NpyImageStore } from './npy-store.js';
import { makeImageFolder, TINY_DINOV2 } from './test-support/image-folder.js';

const { dir, images } = await makeImageFolder();
const work = mkdtempSync(join(tmpdir(), 'vitkit-npy-'));
const model = await Dinov2.fromPretrained(TINY_DINOV2);
afterAll(async () => {
  await model.dispose();
  rmSync(dir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

/** numpy's format 1.0 read back by hand: header dict, then little-endian float32 rows. */
function readNpy(path: string): { shape: number[]; data: Float32Array } {
  const bytes = readFileSync(path);
  expect(bytes.toString('latin1', 0, 6)).toBe('\x93NUMPY');
  const headerLength = bytes.readUInt16LE(8);
  const dict = bytes.toString('latin1', 10, 10 + headerLength);
  expect(dict).toContain("'descr': '<f4'");
  const shape = (/'shape': \((\d+), (\d+)\)/.exec(dict) as RegExpExecArray).slice(1).map(Number);
  const body = bytes.subarray(10 + headerLength);
  expect(body.byteLength).toBe(shape[0] * shape[1] * 4);
  return { shape, data: new Float32Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength)) };
}

describe('--format npy', () => {
  it('writes cls.npy, pooled.npy and rows.jsonl whose row i is image i, and resumes without duplicates', async () => {
    const out = join(work, 'set');
    const stop = new AbortController();
    const options = { model, out, format: 'npy' as const, batchSize: 2, decodeWorkers: 0 };
    await buildImageIndex(images, { ...options, signal: stop.signal, onProgress: () => stop.abort() });
    // A kill between the vectors and their row line: vectors of a third image, and half a line.
    const cls = join(out, 'cls.npy');
    appendFileSync(cls, Buffer.alloc(32 * 4));
    appendFileSync(join(out, 'rows.jsonl'), '{"path":"cut');
    const rest = await buildImageIndex(images, options);
    expect(rest).toMatchObject({ embedded: images.length - 2, skipped: 2, rows: images.length });
    const rows = readFileSync(join(out, 'rows.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows.map((r) => r.path).sort()).toEqual(images);
    const { shape, data } = readNpy(cls);
    expect(shape).toEqual([images.length, 32]);
    expect(readNpy(join(out, 'pooled.npy')).shape).toEqual([images.length, 32]);
    for (const [i, row] of rows.entries()) {
      const one = (await model.embed(row.path)).cls.data;
      for (let j = 0; j < 32; j++) expect(data[i * 32 + j]).toBeCloseTo(one[j], 5);
    }
  });

  it('refuses another model’s store and a file it did not write', async () => {
    expect(() => NpyImageStore.open(join(work, 'set'), 'facebook/dinov2-base')).toThrow(
      expect.objectContaining({ code: 'INDEX_MODEL_MISMATCH' }),
    );
    const bad = join(work, 'bad');
    NpyImageStore.open(bad, 'm');
    appendFileSync(join(bad, 'cls.npy'), 'garbage'.repeat(40));
    expect(() => NpyImageStore.open(bad, 'm')).toThrow(expect.objectContaining({ code: 'INDEX_INVALID' }));
  });
});
