import type { RgbImage } from '@vitkit/core';
import sharp from 'sharp';
import { writeFileAtomic } from './output-file.js';

/** Encodes an RGB image as PNG (sharp) and writes it atomically. */
export async function writePng(path: string, image: RgbImage): Promise<void> {
  const png = await sharp(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength), {
    raw: { width: image.width, height: image.height, channels: 3 },
  })
    .png()
    .toBuffer();
  await writeFileAtomic(path, png);
}
