// Test-only: a small folder of real photos (from fixtures/) and bad files, made fresh per test file.
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixturePath } from '@vitkit/test-support';
import sharp from 'sharp';

export const TINY_DINOV2 = fixturePath('dinov2/default-res');
const PHOTOS = fixturePath('preprocess/images');

/** dir/a/cats.jpg, dir/a/b/cats-flipped.jpg, dir/gray.png, dir/rgba.PNG, dir/synthetic.png, dir/notes.txt (not an image). */
export async function makeImageFolder(): Promise<{ dir: string; images: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'vitkit-image-sets-'));
  mkdirSync(join(dir, 'a', 'b'), { recursive: true });
  copyFileSync(join(PHOTOS, 'cats.jpg'), join(dir, 'a', 'cats.jpg'));
  await sharp(join(PHOTOS, 'cats.jpg'))
    .flop()
    .resize(200)
    .jpeg({ quality: 70 })
    .toFile(join(dir, 'a', 'b', 'cats-flipped.jpg'));
  copyFileSync(join(PHOTOS, 'gray_64x48.png'), join(dir, 'gray.png'));
  copyFileSync(join(PHOTOS, 'rgba_50x70.png'), join(dir, 'rgba.PNG'));
  copyFileSync(join(PHOTOS, 'synthetic_97x61.png'), join(dir, 'synthetic.png'));
  writeFileSync(join(dir, 'notes.txt'), 'not an image');
  const images = ['a/b/cats-flipped.jpg', 'a/cats.jpg', 'gray.png', 'rgba.PNG', 'synthetic.png'].map((p) => join(dir, p));
  return { dir, images: images.sort() };
}

/** A file named like a JPEG that is not one. */
export function addBrokenJpeg(dir: string, name = 'broken.jpg'): string {
  const path = join(dir, name);
  writeFileSync(path, 'this is not a JPEG');
  return path;
}
