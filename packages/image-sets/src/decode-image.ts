import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createImageProcessor, type ImageProcessor, isVitkitError, type PreprocessorConfig } from '@vitkit/core';

/** What one decode task sends back: the image as the model's pixel_values, or why it could not be read. */
export type DecodeResult =
  | { ok: true; pixels: Float32Array; shape: [number, number, number]; width: number; height: number }
  | { ok: false; code: string; message: string };

/** Encoded bytes and their content hash (sha256, hex), the key a resumed run skips on. */
export async function readAndHash(path: string): Promise<{ bytes: Uint8Array; hash: string }> {
  const bytes = await readFile(path);
  return { bytes, hash: createHash('sha256').update(bytes).digest('hex') };
}

const processors = new Map<string, ImageProcessor>();

/**
 * Decodes and preprocesses one image exactly as the checkpoint's processor does, in whichever
 * thread calls it (a decode worker or the main thread). Never throws for a bad image.
 */
export async function decodeForModel(bytes: Uint8Array, config: PreprocessorConfig): Promise<DecodeResult> {
  try {
    const key = JSON.stringify(config);
    let processor = processors.get(key);
    if (!processor) {
      processor = createImageProcessor(config);
      processors.set(key, processor);
    }
    const { pixel_values } = await processor.process(bytes);
    const [, c, h, w] = pixel_values.shape;
    return { ok: true, pixels: pixel_values.data, shape: [c, h, w], width: w, height: h };
  } catch (error) {
    return {
      ok: false,
      code: isVitkitError(error) ? error.code : 'IMAGE_UNDECODABLE',
      message: error instanceof Error ? error.message : String(error),
    };
  }
}
