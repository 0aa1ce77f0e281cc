import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixturePath } from '@vitkit/test-support';
import { Command } from 'commander';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { registerDino } from './dino.js';
import { registerImageSets } from './image-sets.js';

const work = mkdtempSync(join(tmpdir(), 'vitkit-image-sets-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const MODEL = fixturePath('dinov2/default-res');
const PHOTOS = fixturePath('preprocess/images');
const photos = join(work, 'photos');
for (const [cls, file] of [
  ['cats', 'cats.jpg'],
  ['cats', 'cats.png'],
  ['gray', 'gray_64x48.png'],
  ['synthetic', 'synthetic_97x61.png'],
]) {
  mkdirSync(join(photos, cls), { recursive: true });
  copyFileSync(join(PHOTOS, file), join(photos, cls, file));
}
writeFileSync(join(photos, 'gray', 'broken.png'), 'not a PNG');

async function vitkit(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((s) => out.push(String(s)) > 0);
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((s) => err.push(String(s)) > 0);
  try {
    const program = new Command('vitkit').exitOverride();
    registerDino(program);
    registerImageSets(program);
    await program.parseAsync(args, { from: 'user' });
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
  return { stdout: out.join(''), stderr: err.join('') };
}

describe('vitkit embed <folder> / search / knn-eval', () => {
  const index = join(work, 'index');

  it('embed builds an index from a folder, reports the broken file, and a re-run resumes with nothing to do', async () => {
    const first = await vitkit('embed', photos, '--model', MODEL, '--out', index, '--batch-size', '2', '--workers', '0');
    expect(first.stdout).toContain('done: 4 embedded, 0 already in the index, 1 unreadable, of 5 images');
    expect(first.stdout).toContain('holds 4 rows');
    expect(first.stderr).toContain(`skipped ${join(photos, 'gray', 'broken.png')}: IMAGE_UNDECODABLE`);
    const again = await vitkit('embed', photos, '--model', MODEL, '--out', index, '--workers', '0');
    expect(again.stdout).toContain('done: 0 embedded, 4 already in the index, 1 unreadable');
    expect(again.stdout).toContain('holds 4 rows');
  });

  it('embed --format parquet writes Parquet parts with a row per image, resumable; patches are for LanceDB only', async () => {
    const parquet = join(work, 'parquet');
    const first = await vitkit('embed', photos, '--model', MODEL, '--out', parquet, '--format', 'parquet', '--workers', '0');
    expect(first.stdout).toContain('done: 4 embedded, 0 already in the index, 1 unreadable, of 5 images');
    expect(readdirSync(parquet)).toEqual(['part-000000.parquet']);
    const again = await vitkit('embed', photos, '--model', MODEL, '--out', parquet, '--format', 'parquet', '--workers', '0');
    expect(again.stdout).toContain('done: 0 embedded, 4 already in the index, 1 unreadable');
    expect(again.stdout).toContain('holds 4 rows');
    await expect(
      vitkit('embed', photos, '--model', MODEL, '--out', join(work, 'pp'), '--format', 'parquet', '--patches'),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('embed --dtype int8 keeps the precision with the index: resuming in fp32 is refused, search still finds the query', async () => {
    const int8 = join(work, 'int8');
    const first = await vitkit('embed', photos, '--model', MODEL, '--out', int8, '--dtype', 'int8', '--workers', '0');
    expect(first.stdout).toContain('done: 4 embedded');
    await expect(vitkit('embed', photos, '--model', MODEL, '--out', int8, '--workers', '0')).rejects.toMatchObject({
      code: 'INDEX_MODEL_MISMATCH',
    });
    const query = join(photos, 'cats', 'cats.jpg');
    const [hit] = JSON.parse((await vitkit('search', query, '--index', int8, '-k', '1', '--json')).stdout);
    expect(hit.path).toBe(query);
    expect(hit.similarity).toBeGreaterThan(0.9999);
  });

  it('embed of a folder needs --out; embed of images keeps printing shapes', async () => {
    await expect(vitkit('embed', photos, '--model', MODEL)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const one = await vitkit('embed', join(PHOTOS, 'cats.png'), '--model', MODEL);
    expect(one.stdout).toContain('cls [1, 32]');
  });

  it('search finds the query image itself first, as a table or JSON', async () => {
    const query = join(photos, 'cats', 'cats.png');
    const json = JSON.parse((await vitkit('search', query, '--index', index, '-k', '3', '--json')).stdout);
    expect(json).toHaveLength(3);
    expect(json[0]).toMatchObject({ rank: 1, path: query });
    expect(json[0].similarity).toBeCloseTo(1, 5);
    expect(json[1].similarity).toBeLessThanOrEqual(json[0].similarity);
    const table = (await vitkit('search', query, '--index', index, '-k', '2')).stdout.split('\n');
    expect(table[0]).toMatch(/rank\s+cosine\s+path/);
    expect(table[1]).toMatch(new RegExp(`^\\s+1\\s+1\\.0000\\s+${query}$`));
  });

  it('search on a folder that is no index says so', async () => {
    await expect(vitkit('search', join(PHOTOS, 'cats.png'), '--index', join(work, 'nothing'))).rejects.toMatchObject({
      code: 'FILE_NOT_FOUND',
    });
  });

  it('knn-eval reports top-1 and top-5 over labelled folders', async () => {
    const r = await vitkit('knn-eval', photos, photos, '--model', MODEL, '-k', '1', '--workers', '0');
    expect(r.stdout).toContain('top-1 100.00%  top-5 100.00%  (4 val, 4 train images, 3 classes, k=1, T=0.07)');
  });
});
