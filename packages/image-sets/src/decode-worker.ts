// A decode worker (run by piscina): one image's encoded bytes in, its pixel_values out.
import type { PreprocessorConfig } from '@vitkit/core';
import sharp from 'sharp';
import { type DecodeResult, decodeForModel } from './decode-image.js';

// Several workers decode at once: libvips' own thread pool in each would only oversubscribe the cores.
sharp.concurrency(1);

export default function decode(task: { bytes: Uint8Array; config: PreprocessorConfig }): Promise<DecodeResult> {
  return decodeForModel(task.bytes, task.config);
}
