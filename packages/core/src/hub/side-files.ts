// A checkpoint's side files (a tokenizer's vocab.txt, tokenizer.json, processor_config.json) are
// kilobytes to a few megabytes; every loader reads them through `PretrainedFiles.readFile` under one cap,
// so a hostile one is not read past it.
import { VitkitError } from '../errors/vitkit-error.js';

export const MAX_SIDE_FILE_BYTES = 64 * 1024 * 1024;

/** CONFIG_INVALID when the side file `where` (source/name) is larger than `MAX_SIDE_FILE_BYTES`. */
export function checkSideFileSize(where: string, size: number): void {
  if (size > MAX_SIDE_FILE_BYTES) {
    throw new VitkitError('CONFIG_INVALID', `${where} is ${size} bytes; a side file over ${MAX_SIDE_FILE_BYTES} is refused.`);
  }
}
