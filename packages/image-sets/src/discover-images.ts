import { readFile, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { VitkitError } from '@vitkit/core';
import { glob, isDynamicPattern } from 'tinyglobby';

/** File endings taken as images when a folder is walked (what sharp decodes). */
export const IMAGE_EXTENSIONS = ['jpg', 'jpeg', 'png', 'webp', 'gif', 'tif', 'tiff', 'avif', 'bmp'] as const;

const IMAGE_GLOB = `**/*.{${IMAGE_EXTENSIONS.flatMap((e) => [e, e.toUpperCase()]).join(',')}}`;

/**
 * The images a source names, as absolute paths in a stable (sorted) order: a folder (walked
 * recursively for image files), a glob (`photos/**\/*.jpg`), or a `.txt` list (one path per line,
 * relative to the list's folder; blank lines and `#` comments ignored). A list or glob may name
 * files that later fail to decode: those are reported by the embed loop, not here.
 */
export async function discoverImages(source: string): Promise<string[]> {
  if (isDynamicPattern(source)) return sorted(await glob(source, { absolute: true, onlyFiles: true, dot: false }));
  const info = await stat(source).catch(() => undefined);
  if (!info) {
    throw new VitkitError('FILE_NOT_FOUND', `${source} does not exist: give a folder of images, a glob or a .txt list of paths.`);
  }
  if (info.isDirectory()) {
    return sorted(await glob(IMAGE_GLOB, { cwd: source, absolute: true, onlyFiles: true, followSymbolicLinks: true }));
  }
  if (source.toLowerCase().endsWith('.txt')) {
    const base = dirname(resolve(source));
    const lines = (await readFile(source, 'utf8')).split(/\r?\n/);
    return lines
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'))
      .map((l) => resolve(base, l));
  }
  return [resolve(source)];
}

function sorted(paths: string[]): string[] {
  return paths.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
