import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { discoverImages } from './discover-images.js';
import { makeImageFolder } from './test-support/image-folder.js';

const { dir, images } = await makeImageFolder();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('discoverImages', () => {
  it('walks a folder recursively, keeps image files (any case of extension), sorted', async () => {
    expect(await discoverImages(dir)).toEqual(images);
  });

  it('takes a glob', async () => {
    expect(await discoverImages(join(dir, '**/*.jpg'))).toEqual(images.filter((p) => p.endsWith('.jpg')));
  });

  it('takes a .txt list relative to its own folder, without blanks and comments', async () => {
    const list = join(dir, 'a', 'list.txt');
    writeFileSync(list, '# two of them\ncats.jpg\n\n  ../gray.png  \n');
    expect(await discoverImages(list)).toEqual([join(dir, 'a', 'cats.jpg'), join(dir, 'gray.png')]);
  });

  it('says what to give when the source does not exist', async () => {
    await expect(discoverImages(join(dir, 'nope'))).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
  });
});
