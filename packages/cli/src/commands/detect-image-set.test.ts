import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluateCocoJson } from '@vitkit/detr';
import { fixturePath, readFixtureJson } from '@vitkit/test-support';
import { afterAll, describe, expect, it } from 'vitest';
import { detectImageSet } from './detect-image-set.js';

const work = mkdtempSync(join(tmpdir(), 'vitkit-detect-set-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const MODEL = fixturePath('detr/resnet-basic');
const queries = readFixtureJson<{ num_queries: number }>('detr/resnet-basic/config.json').num_queries;

/** Three photos named by COCO-style ids, one in a subfolder, and a file that is not an image. */
function imageSet(): string {
  const dir = join(work, `set-${Math.random().toString(36).slice(2)}`);
  mkdirSync(join(dir, 'sub'), { recursive: true });
  copyFileSync(fixturePath('preprocess/images/cats.png'), join(dir, '000000000001.png'));
  copyFileSync(fixturePath('preprocess/images/synthetic_97x61.png'), join(dir, '000000000002.png'));
  copyFileSync(fixturePath('preprocess/images/cats.jpg'), join(dir, 'sub', '000000000003.jpg'));
  writeFileSync(join(dir, '000000000004.jpg'), 'not a jpeg');
  return dir;
}

describe('vitkit detect <folder>', () => {
  const options = { model: MODEL, threshold: 0, device: 'cpu' as const, cache: false };

  it('writes one JSON line per image, skipping (and reporting) what cannot be decoded', async () => {
    const dir = imageSet();
    const out = join(work, 'detections.jsonl');
    const logs: string[] = [];
    const s = await detectImageSet(dir, { ...options, out }, (l) => logs.push(l));
    expect(s).toMatchObject({
      images: 3,
      detections: 3 * queries,
      skipped: [{ path: join(dir, '000000000004.jpg'), code: 'IMAGE_UNDECODABLE' }],
    });
    const lines = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.width, l.height])).toEqual([
      [640, 480],
      [97, 61],
      [640, 480],
    ]);
    for (const l of lines) expect(l.detections).toHaveLength(queries);
    expect(logs.some((l) => /skipped .*000000000004\.jpg: IMAGE_UNDECODABLE/.test(l))).toBe(true);
  });

  it('writes COCO results that eval-coco scores: against themselves as ground truth, AP 1', async () => {
    const dir = imageSet();
    const out = join(work, 'results.json');
    await detectImageSet(dir, { ...options, out, format: 'coco' }, () => {});
    const results = JSON.parse(readFileSync(out, 'utf8')) as { image_id: number; category_id: number; bbox: number[]; score: number }[];
    expect(new Set(results.map((r) => r.image_id))).toEqual(new Set([1, 2, 3]));
    expect(results).toHaveLength(3 * queries);
    // Every detection made a ground-truth object: each then matches its own box at IoU 1.
    const gt = {
      images: [1, 2, 3].map((id) => ({ id, file_name: `${id}` })),
      categories: [...new Set(results.map((r) => r.category_id))].map((id) => ({ id, name: String(id) })),
      annotations: results.map((r, i) => ({
        id: i + 1,
        image_id: r.image_id,
        category_id: r.category_id,
        bbox: r.bbox,
        area: r.bbox[2] * r.bbox[3],
        iscrowd: 0,
      })),
    };
    const e = evaluateCocoJson(gt, results);
    expect(e.stats[0]).toBeCloseTo(1, 9);
    expect(e.stats[8]).toBeCloseTo(1, 9); // AR@100
  });

  it("takes image ids from a ground truth's file names, and refuses names that carry none without one", async () => {
    const dir = join(work, 'named');
    mkdirSync(dir, { recursive: true });
    copyFileSync(fixturePath('preprocess/images/cats.png'), join(dir, 'cats.png'));
    const out = join(work, 'named.json');
    await expect(detectImageSet(dir, { ...options, out, format: 'coco' }, () => {})).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const gt = join(work, 'instances.json');
    writeFileSync(gt, JSON.stringify({ images: [{ id: 39769, file_name: 'cats.png' }], annotations: [], categories: [] }));
    await detectImageSet(dir, { ...options, out, format: 'coco', gt }, () => {});
    const results = JSON.parse(readFileSync(out, 'utf8')) as { image_id: number }[];
    expect(new Set(results.map((r) => r.image_id))).toEqual(new Set([39769]));
  });
});
