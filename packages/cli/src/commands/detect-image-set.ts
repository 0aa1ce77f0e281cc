// `vitkit detect <folder|glob|list.txt> --out detections.jsonl`: every image of a set, one at a time
// (DETR keeps each photo's aspect ratio, so batching buys little), as JSON Lines or as COCO results
// that `vitkit eval-coco` reads. An unreadable or undecodable file is reported and skipped.
import { createWriteStream } from 'node:fs';
import { readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, relative } from 'node:path';
import { isVitkitError, loadImage, VitkitError } from '@vitkit/core';
import { discoverImages } from '@vitkit/image-sets';
import { type DetectCommandOptions, loadDetector } from './load-detector.js';

export interface DetectImageSetOptions extends DetectCommandOptions {
  out?: string;
  format?: 'jsonl' | 'coco';
  /** COCO ground truth whose `images[].file_name` gives each file its `image_id` (format coco). */
  gt?: string;
}

export interface DetectImageSetSummary {
  images: number;
  detections: number;
  skipped: { path: string; code: string }[];
  out: string;
}

/** Each file's COCO image id: from the ground truth's file names, else the digits of a COCO-style name (000000039769.jpg). */
async function imageIdsFor(paths: readonly string[], gt: string | undefined, root: string): Promise<(path: string) => number> {
  if (gt) {
    const json = JSON.parse(await readFile(gt, 'utf8')) as { images?: { id: number; file_name: string }[] };
    if (!Array.isArray(json.images)) throw new VitkitError('COCO_JSON_INVALID', `--gt ${gt} has no "images" list to take image ids from.`);
    const byName = new Map(json.images.map((i) => [i.file_name, i.id]));
    return (path) => {
      const id = byName.get(relative(root, path)) ?? byName.get(basename(path));
      if (id === undefined) throw new VitkitError('COCO_JSON_INVALID', `${path} is not among the images of ${gt} (by file_name).`);
      return id;
    };
  }
  for (const p of paths) {
    if (!/^\d+\.\w+$/.test(basename(p)))
      throw new VitkitError(
        'INVALID_ARGUMENT',
        `--format coco needs an image id for ${p}: name files by their COCO id (000000039769.jpg) or pass --gt instances.json.`,
      );
  }
  return (path) => Number(basename(path).split('.')[0]);
}

export async function detectImageSet(
  source: string,
  o: DetectImageSetOptions,
  log: (line: string) => void,
): Promise<DetectImageSetSummary> {
  if (!o.out) throw new VitkitError('INVALID_ARGUMENT', 'Detecting over a folder needs --out <detections.jsonl | results.json>.');
  const format = o.format ?? 'jsonl';
  if (format === 'coco' && o.prompt !== undefined)
    throw new VitkitError('INVALID_ARGUMENT', '--format coco needs category ids, and a prompt names phrases: write JSON Lines instead.');
  const paths = await discoverImages(source);
  // A ground truth's file_name is relative to the folder given; for a glob or a list, to where the command runs.
  const root = (await stat(source).catch(() => undefined))?.isDirectory() ? source : process.cwd();
  const imageId = format === 'coco' ? await imageIdsFor(paths, o.gt, root) : undefined;
  const model = await loadDetector(o);
  // Written beside the target and renamed at the end: an interrupted run leaves no half file.
  const tmp = `${o.out}.${process.pid}.partial`;
  const file = createWriteStream(tmp);
  const summary: DetectImageSetSummary = { images: 0, detections: 0, skipped: [], out: o.out };
  let first = true;
  try {
    if (format === 'coco') file.write('[\n');
    for (const [i, path] of paths.entries()) {
      let image: Awaited<ReturnType<typeof loadImage>>;
      try {
        image = await loadImage(path);
      } catch (error) {
        // A file that cannot be read or decoded is the set's problem, not the run's: reported, skipped.
        const code = isVitkitError(error) ? error.code : (error as { code?: string }).code;
        if (code === undefined) throw error;
        summary.skipped.push({ path, code });
        log(`skipped ${path}: ${code}`);
        continue;
      }
      const size = { width: image.width, height: image.height };
      const [detections] = await model.detect([image]);
      summary.images++;
      summary.detections += detections.length;
      if (format === 'jsonl') {
        file.write(`${JSON.stringify({ path, ...size, detections })}\n`);
      } else {
        const id = imageId?.(path) as number;
        for (const d of detections) {
          const [x0, y0, x1, y1] = d.box;
          const bbox = [x0, y0, x1 - x0, y1 - y0].map((v) => Math.round(v * 100) / 100);
          file.write(`${first ? '' : ',\n'}${JSON.stringify({ image_id: id, category_id: d.labelId, bbox, score: d.score })}`);
          first = false;
        }
      }
      if ((i + 1) % 10 === 0 || i + 1 === paths.length) log(`${i + 1}/${paths.length} images`);
    }
    if (format === 'coco') file.write('\n]\n');
    await new Promise<void>((resolve, reject) => file.end((error?: Error | null) => (error ? reject(error) : resolve())));
    await rename(tmp, o.out);
    return summary;
  } catch (error) {
    file.destroy();
    await rm(tmp, { force: true });
    throw error;
  } finally {
    await model.dispose();
  }
}
