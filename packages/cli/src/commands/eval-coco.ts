import { readFile, stat } from 'node:fs/promises';
import { VitkitError } from '@vitkit/core';
import { type CocoJsonEvaluation, type CocoParams, cocoSummary, evaluateCocoJson } from '@vitkit/detr';
import type { Command } from 'commander';
import { writeFileAtomic } from '../output-file.js';

interface EvalCocoFlags {
  gt: string;
  dt: string;
  imgIds?: string;
  catIds?: string;
  maxDets?: string;
  json?: string;
}

/** V8 cannot hold a longer string, so JSON.parse of a larger file would fail with a RangeError. */
const MAX_JSON_BYTES = 512 * 2 ** 20;

/**
 * `vitkit eval-coco --gt instances.json --dt detections.json`: COCO box AP/AR as pycocotools computes
 * them (`COCOeval(gt, gt.loadRes(dt), 'bbox')`), its summary lines character for character, then AP
 * per category.
 */
export function registerEvalCoco(program: Command): void {
  program
    .command('eval-coco')
    .description("COCO box AP/AR of detections against ground truth, equal to pycocotools' COCOeval (bbox)")
    .requiredOption('--gt <file>', 'ground truth in COCO format (images, annotations, categories)')
    .requiredOption('--dt <file>', 'detections in COCO results format: [{ image_id, category_id, bbox: [x, y, w, h], score }]')
    .option('--img-ids <list>', 'evaluate only these image ids (params.imgIds)')
    .option('--cat-ids <list>', 'evaluate only these category ids (params.catIds)')
    .option('--max-dets <a,b,c>', 'the three detection caps (params.maxDets)', '1,10,100')
    .option('--json <file>', 'also write the stats, per-category numbers and params as JSON ("-" for stdout instead of the text)')
    .action(async (flags: EvalCocoFlags) => {
      const params: CocoParams = {
        imgIds: flags.imgIds ? ids(flags.imgIds, '--img-ids') : undefined,
        catIds: flags.catIds ? ids(flags.catIds, '--cat-ids') : undefined,
        maxDets: maxDets(flags.maxDets ?? '1,10,100'),
      };
      const e = evaluateCocoJson(await readJson(flags.gt, '--gt'), await readJson(flags.dt, '--dt'), params);
      const report = JSON.stringify(jsonReport(e), null, 2);
      if (flags.json === '-') {
        process.stdout.write(`${report}\n`);
        return;
      }
      process.stdout.write(`${[...cocoSummary(e), '', ...categoryTable(e)].join('\n')}\n`);
      if (flags.json) await writeFileAtomic(flags.json, `${report}\n`);
    });
}

function ids(value: string, flag: string): number[] {
  const list = value.split(',').map((v) => Number(v.trim()));
  if (list.length === 0 || !list.every(Number.isInteger)) {
    throw new VitkitError('INVALID_ARGUMENT', `${flag} takes a comma-separated list of integer ids, got "${value}".`);
  }
  return list;
}

function maxDets(value: string): [number, number, number] {
  const list = ids(value, '--max-dets');
  if (list.length !== 3 || list.some((m) => m < 1)) {
    throw new VitkitError('INVALID_ARGUMENT', `--max-dets takes three positive integers, e.g. 1,10,100, got "${value}".`);
  }
  return list as [number, number, number];
}

async function readJson(path: string, flag: string): Promise<unknown> {
  const size = await stat(path).then(
    (s) => s.size,
    () => {
      throw new VitkitError('FILE_NOT_FOUND', `${flag}: no file at ${path}.`);
    },
  );
  if (size > MAX_JSON_BYTES) {
    throw new VitkitError(
      'COCO_JSON_INVALID',
      `${flag}: ${path} is ${(size / 2 ** 20).toFixed(0)} MiB, more than the 512 MiB one JSON string can hold in Node.`,
    );
  }
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch (cause) {
    throw new VitkitError('COCO_JSON_INVALID', `${flag}: ${path} is not JSON (${(cause as Error).message}).`, { cause });
  }
}

function categoryTable(e: CocoJsonEvaluation): string[] {
  const last = e.maxDets[2];
  const fmt = (v: number) => (v < 0 ? '-' : v.toFixed(3)).padStart(6);
  const names = e.categories.map((id) => `${id} ${e.categoryNames.get(id) ?? ''}`.trim());
  const width = Math.max(8, ...names.map((n) => n.length));
  const lines = [`${'category'.padEnd(width)}     AP   AP50   AP75  AR${last}   gt`];
  e.categories.forEach((id, i) => {
    const c = e.perCategory.get(id);
    if (!c) return;
    lines.push(
      `${names[i].padEnd(width)} ${fmt(c.ap)} ${fmt(c.ap50)} ${fmt(c.ap75)} ${fmt(c.ar[2])} ${String(c.groundTruths).padStart(4)}`,
    );
  });
  return lines;
}

function jsonReport(e: CocoJsonEvaluation) {
  return {
    stats: e.stats,
    params: { imgIds: e.imageIds, catIds: e.categories, maxDets: e.maxDets },
    perCategory: Object.fromEntries(
      [...e.perCategory].map(([id, c]) => [
        id,
        {
          name: e.categoryNames.get(id),
          AP: c.ap,
          AP50: c.ap50,
          AP75: c.ap75,
          AP_small: c.apSmall,
          AP_medium: c.apMedium,
          AP_large: c.apLarge,
          ...Object.fromEntries(e.maxDets.map((m, i) => [`AR${m}`, c.ar[i]])),
          n_gt_non_crowd: c.groundTruths,
        },
      ]),
    ),
  };
}
