import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Dinov2 } from '@vitkit/dino';
import { fixturePath } from '@vitkit/test-support';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { knnEval } from './knn-eval.js';
import { TINY_DINOV2 } from './test-support/image-folder.js';

const PHOTOS = fixturePath('preprocess/images');
const work = mkdtempSync(join(tmpdir(), 'vitkit-knn-'));
const model = await Dinov2.fromPretrained(TINY_DINOV2);
afterAll(async () => {
  await model.dispose();
  rmSync(work, { recursive: true, force: true });
});

/** <root>/<class>/<n>.png: two views (as is, mirrored) of each class's photo. */
async function labelledFolder(root: string, classes: Record<string, string>): Promise<void> {
  for (const [label, photo] of Object.entries(classes)) {
    mkdirSync(join(root, label), { recursive: true });
    copyFileSync(join(PHOTOS, photo), join(root, label, '0.png'));
    await sharp(join(PHOTOS, photo))
      .flop()
      .png()
      .toFile(join(root, label, '1.png'));
  }
}

const photos = { cats: 'cats.png', gray: 'gray_64x48.png', synthetic: 'synthetic_97x61.png' };
await labelledFolder(join(work, 'train'), photos);
// The same images under each other's names: a classifier that uses the labels must get every one wrong.
await labelledFolder(join(work, 'swapped'), { cats: photos.gray, gray: photos.synthetic, synthetic: photos.cats });

describe('knnEval', () => {
  it('with k = 1, classifies the train images themselves perfectly (each is its own nearest neighbour)', async () => {
    const r = await knnEval(join(work, 'train'), join(work, 'train'), { model, k: 1, decodeWorkers: 0 });
    expect(r).toMatchObject({ top1: 1, top5: 1, train: 6, val: 6, classes: 3, failed: [] });
  });

  it('uses the folder labels: images filed under another class all miss at top-1', async () => {
    const r = await knnEval(join(work, 'train'), join(work, 'swapped'), { model, k: 1, decodeWorkers: 0 });
    expect(r.top1).toBe(0);
    expect(r.val).toBe(6);
  });

  it('needs class folders', async () => {
    await expect(knnEval(join(work, 'train', 'cats'), join(work, 'train'), { model, decodeWorkers: 0 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });
});
