import { DEVICES, type Device, loadImage, type RgbImage, VitkitError } from '@vitkit/core';
import type { DetrImageSegmentation, DetrSegment } from '@vitkit/models';
import { type Command, Option } from 'commander';
import sharp from 'sharp';
import { type CacheFlag, cacheOption, optimizedModelCache } from '../model-cache.js';
import { loadModelFor } from '../model-capabilities.js';
import { writeFileAtomic } from '../output-file.js';
import { outputPathFor } from './detect.js';

const TASKS = ['panoptic', 'instance', 'semantic'] as const;
type Task = (typeof TASKS)[number];

export interface SegmentCommandOptions extends CacheFlag {
  model: string;
  task: Task;
  threshold: number;
  maskThreshold: number;
  overlap: number;
  /** Panoptic "stuff" label ids to fuse, e.g. "184,187". */
  fuse?: string;
  out?: string;
  device: Device;
}

export interface SegmentImageResult {
  image: string;
  width: number;
  height: number;
  result: DetrImageSegmentation;
  /** The overlay PNG written for this image, with `--out`. */
  drawn?: string;
}

/** 20 well-separated colours (Sasha Trubetskoy's list), cycled by segment order. */
const PALETTE: readonly [number, number, number][] = [
  [230, 25, 75],
  [60, 180, 75],
  [255, 225, 25],
  [67, 99, 216],
  [245, 130, 49],
  [145, 30, 180],
  [66, 212, 244],
  [240, 50, 230],
  [191, 239, 69],
  [250, 190, 212],
  [70, 153, 144],
  [220, 190, 255],
  [154, 99, 36],
  [255, 250, 200],
  [128, 0, 0],
  [170, 255, 195],
  [128, 128, 0],
  [255, 216, 177],
  [0, 0, 117],
  [169, 169, 169],
];

/** Legend rows at most; the rest of the segments (smallest first) are summarised in one line. */
const LEGEND_ROWS = 16;
const ALPHA = 0.55;

const escapeXml = (s: string) => s.replace(/[<>&'"]/g, (ch) => `&#${ch.charCodeAt(0)};`);
const hex = ([r, g, b]: readonly number[]) => `#${[r, g, b].map((v) => v.toString(16).padStart(2, '0')).join('')}`;

/** One colour per distinct map value, in the order segments are listed (fused stuff shares its id's colour). */
function coloursById(segments: readonly DetrSegment[]): Map<number, readonly [number, number, number]> {
  const colours = new Map<number, readonly [number, number, number]>();
  for (const s of segments) if (!colours.has(s.id)) colours.set(s.id, PALETTE[colours.size % PALETTE.length]);
  return colours;
}

/** The image with every segment tinted in its colour and its border lightened: RGB bytes. */
export function tintSegments(image: RgbImage, result: DetrImageSegmentation): Uint8Array {
  const { width, height } = image;
  const [mh, mw] = result.segmentation.shape;
  if (mh !== height || mw !== width) {
    throw new VitkitError('INVALID_ARGUMENT', `The segmentation map is ${mw}x${mh} but the image is ${width}x${height}.`);
  }
  const map = result.segmentation.data as Int32Array;
  const colours = coloursById(result.segments);
  const out = new Uint8Array(image.data);
  for (let p = 0; p < map.length; p++) {
    const colour = colours.get(map[p]);
    if (!colour) continue;
    const x = p % width;
    const border = (x + 1 < width && map[p + 1] !== map[p]) || (p + width < map.length && map[p + width] !== map[p]);
    for (let c = 0; c < 3; c++) {
      const base = image.data[3 * p + c];
      out[3 * p + c] = border ? 255 : Math.round(base * (1 - ALPHA) + colour[c] * ALPHA);
    }
  }
  return out;
}

/** A legend box (top-left): a swatch and "label score" (or the share of the image) per segment, biggest first. */
export function legendSvg(width: number, height: number, result: DetrImageSegmentation): string {
  const font = Math.max(11, Math.round(Math.min(width, height) / 40));
  const row = font + 6;
  const colours = coloursById(result.segments);
  const total = width * height;
  const sorted = [...result.segments].sort((a, b) => b.area - a.area);
  const shown = sorted.slice(0, LEGEND_ROWS);
  const lines = shown.map((s) => {
    const detail = s.score !== undefined ? s.score.toFixed(2) : `${((100 * s.area) / total).toFixed(1)}%`;
    return { colour: hex(colours.get(s.id) ?? [0, 0, 0]), text: `${s.label} ${detail}${s.wasFused ? ' (stuff)' : ''}` };
  });
  if (sorted.length > shown.length) lines.push({ colour: '', text: `+${sorted.length - shown.length} more` });
  if (lines.length === 0) lines.push({ colour: '', text: 'no segment passed the threshold' });
  const boxWidth = Math.min(width, Math.ceil(Math.max(...lines.map((l) => l.text.length)) * font * 0.6) + row + 12);
  const boxHeight = Math.min(height, lines.length * row + 8);
  const rows = lines.map((l, i) => {
    const y = 4 + i * row;
    const swatch = l.colour ? `<rect x="6" y="${y + 2}" width="${font}" height="${font}" fill="${l.colour}" stroke="#ffffff"/>` : '';
    return `${swatch}<text x="${row + 6}" y="${y + font}" font-family="sans-serif" font-size="${font}" fill="#ffffff">${escapeXml(l.text)}</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect x="0" y="0" width="${boxWidth}" height="${boxHeight}" fill="#000000" fill-opacity="0.6"/>${rows.join('')}</svg>`;
}

/** The colour overlay with its legend, as PNG bytes. */
export async function drawSegmentation(image: RgbImage, result: DetrImageSegmentation): Promise<Buffer> {
  const tinted = tintSegments(image, result);
  const raw = Buffer.from(tinted.buffer, tinted.byteOffset, tinted.byteLength);
  return sharp(raw, { raw: { width: image.width, height: image.height, channels: 3 } })
    .composite([{ input: Buffer.from(legendSvg(image.width, image.height, result)), top: 0, left: 0 }])
    .png()
    .toBuffer();
}

function parseFuse(fuse: string | undefined): number[] | undefined {
  if (fuse === undefined) return undefined;
  const ids = fuse.split(',').map((s) => s.trim());
  if (ids.some((s) => !/^\d+$/.test(s))) {
    throw new VitkitError('INVALID_ARGUMENT', `--fuse takes label ids separated by commas (e.g. 184,187), got "${fuse}".`);
  }
  return ids.map(Number);
}

/** Segments each image (one run per image, no padding) and optionally draws the overlays. */
export async function runSegment(images: string[], o: SegmentCommandOptions): Promise<SegmentImageResult[]> {
  if (images.length === 0) throw new VitkitError('INVALID_ARGUMENT', 'Give at least one image to segment.');
  if (!TASKS.includes(o.task)) throw new VitkitError('INVALID_ARGUMENT', `--task must be one of ${TASKS.join(', ')}, got "${o.task}".`);
  for (const [flag, v] of [
    ['--threshold', o.threshold],
    ['--mask-threshold', o.maskThreshold],
    ['--overlap', o.overlap],
  ] as const) {
    if (!(v >= 0 && v <= 1)) throw new VitkitError('INVALID_ARGUMENT', `${flag} must be between 0 and 1, got ${v}.`);
  }
  const labelIdsToFuse = parseFuse(o.fuse);
  const decoded = await Promise.all(images.map((path) => loadImage(path)));
  const model = await loadModelFor('segment', 'segment', o.model, { device: o.device, optimizedModelCache: optimizedModelCache(o) });
  try {
    const perImage = await model.segment(decoded, {
      task: o.task,
      threshold: o.threshold,
      maskThreshold: o.maskThreshold,
      overlapMaskAreaThreshold: o.overlap,
      labelIdsToFuse,
    });
    const results: SegmentImageResult[] = [];
    for (let i = 0; i < images.length; i++) {
      const result: SegmentImageResult = { image: images[i], width: decoded[i].width, height: decoded[i].height, result: perImage[i] };
      if (o.out) {
        result.drawn = outputPathFor(o.out, i, images.length);
        await writeFileAtomic(result.drawn, await drawSegmentation(decoded[i], perImage[i]));
      }
      results.push(result);
    }
    return results;
  } finally {
    await model.dispose();
  }
}

function formatResult(r: SegmentImageResult): string {
  const { segments, task } = r.result;
  const lines = [`${r.image} (${r.width}x${r.height}): ${segments.length} ${task} segment${segments.length === 1 ? '' : 's'}`];
  for (const s of segments) {
    const score = s.score !== undefined ? ` ${s.score.toFixed(3)}` : '';
    lines.push(`  ${String(s.id).padStart(3)}  ${s.label.padEnd(24)}${score}  ${s.area} px${s.wasFused ? ' (fused)' : ''}`);
  }
  if (r.drawn) lines.push(`  drew the overlay to ${r.drawn}`);
  return lines.join('\n');
}

export function registerSegment(program: Command): void {
  program
    .command('segment')
    .description('Segment images with a DETR segmentation checkpoint and print (or draw) the segments')
    .argument('<image...>', 'image files or URLs (each runs on its own)')
    .requiredOption('--model <dir-or-id>', 'DetrForSegmentation folder or Hugging Face id (e.g. facebook/detr-resnet-50-panoptic)')
    .addOption(new Option('--task <task>', 'what to compute').choices(TASKS).default('panoptic'))
    .option('--threshold <score>', 'panoptic / instance: keep queries scoring above this', (v) => Number(v), 0.9)
    .option('--mask-threshold <p>', 'panoptic / instance: probability · score for a pixel of a query mask', (v) => Number(v), 0.5)
    .option('--overlap <ratio>', 'panoptic / instance: minimum kept / own mask area of a segment', (v) => Number(v), 0.5)
    .option('--fuse <ids>', 'panoptic: "stuff" label ids merged into one segment per label, comma separated')
    .option('--out <file.png>', 'draw a colour overlay with a legend and save a PNG (one file per image: <name>-<i>.png)')
    .addOption(new Option('--device <device>', 'where to run').choices(DEVICES).default('cpu'))
    .addOption(cacheOption())
    .action(async (images: string[], o: SegmentCommandOptions) => {
      const results = await runSegment(images, o);
      process.stdout.write(`${results.map(formatResult).join('\n')}\n`);
    });
}
