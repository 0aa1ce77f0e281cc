import { extname } from 'node:path';
import { DEVICES, loadImage, type RgbImage, VitkitError } from '@vitkit/core';
import { type Command, Option } from 'commander';
import sharp from 'sharp';
import { cacheOption } from '../model-cache.js';
import { writeFileAtomic } from '../output-file.js';
import { detectImageSet } from './detect-image-set.js';
import { isImageSet } from './image-sets.js';
import { checkScore, type DetectCommandOptions, type Detection, loadDetector } from './load-detector.js';

export interface ImageResult {
  image: string;
  width: number;
  height: number;
  detections: Detection[];
  /** The annotated PNG written for this image, with `--out`. */
  drawn?: string;
}

const PALETTE = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#42d4f4', '#f032e6', '#bfef45', '#fabed4', '#469990'];

const escapeXml = (s: string) => s.replace(/[<>&'"]/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** An SVG the size of the image with one labelled rectangle per detection. */
export function detectionsSvg(width: number, height: number, detections: readonly Detection[]): string {
  const stroke = Math.max(2, Math.round(Math.min(width, height) / 200));
  const font = Math.max(10, Math.round(Math.min(width, height) / 40));
  // Phrases have no class id: each distinct label takes the next colour.
  const phrases = [...new Set(detections.filter((d) => d.labelId === undefined).map((d) => d.label))];
  const shapes = detections.map((d) => {
    const color = PALETTE[(d.labelId ?? phrases.indexOf(d.label)) % PALETTE.length];
    const [x0, y0, x1, y1] = d.box.map((v) => Math.round(v * 10) / 10);
    const text = escapeXml(`${d.label} ${d.score.toFixed(2)}`);
    const labelY = y0 - font - 4 >= 0 ? y0 - font - 4 : y0;
    const labelWidth = Math.ceil(text.length * font * 0.6) + 6;
    // Kept inside the picture: a box at the right edge gets its label shifted left.
    const labelX = Math.max(0, Math.min(x0, width - labelWidth));
    return [
      `<rect x="${x0}" y="${y0}" width="${Math.max(0, x1 - x0)}" height="${Math.max(0, y1 - y0)}" fill="none" stroke="${color}" stroke-width="${stroke}"/>`,
      `<rect x="${labelX}" y="${labelY}" width="${labelWidth}" height="${font + 4}" fill="${color}"/>`,
      `<text x="${labelX + 3}" y="${labelY + font}" font-family="sans-serif" font-size="${font}" fill="#ffffff">${text}</text>`,
    ].join('');
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${shapes.join('')}</svg>`;
}

/** The image with its detections drawn on (an SVG overlay composited by sharp), as PNG bytes. */
export async function drawDetections(image: RgbImage, detections: readonly Detection[]): Promise<Buffer> {
  const raw = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  const overlay = Buffer.from(detectionsSvg(image.width, image.height, detections));
  return sharp(raw, { raw: { width: image.width, height: image.height, channels: 3 } })
    .composite([{ input: overlay, top: 0, left: 0 }])
    .png()
    .toBuffer();
}

/** `boxes.png` for one image; `boxes-1.png`, `boxes-2.png`, … for several. */
export function outputPathFor(out: string, index: number, count: number): string {
  if (count === 1) return out;
  const ext = extname(out) || '.png';
  return `${out.slice(0, out.length - extname(out).length)}-${index + 1}${ext}`;
}

/** Detects objects in the images as one padded batch and optionally draws them. */
export async function runDetect(images: string[], o: DetectCommandOptions): Promise<ImageResult[]> {
  if (images.length === 0) throw new VitkitError('INVALID_ARGUMENT', 'Give at least one image to detect objects in.');
  checkScore('--threshold', o.threshold);
  const decoded = await Promise.all(images.map((path) => loadImage(path)));
  const model = await loadDetector(o);
  try {
    const perImage = await model.detect(decoded);
    const results: ImageResult[] = [];
    for (let i = 0; i < images.length; i++) {
      const result: ImageResult = { image: images[i], width: decoded[i].width, height: decoded[i].height, detections: perImage[i] };
      if (o.out) {
        result.drawn = outputPathFor(o.out, i, images.length);
        await writeFileAtomic(result.drawn, await drawDetections(decoded[i], perImage[i]));
      }
      results.push(result);
    }
    return results;
  } finally {
    await model.dispose();
  }
}

function formatResult(r: ImageResult): string {
  const lines = [`${r.image} (${r.width}x${r.height}): ${r.detections.length} object${r.detections.length === 1 ? '' : 's'}`];
  for (const d of r.detections) lines.push(`  ${d.label.padEnd(16)} ${d.score.toFixed(3)}  [${d.box.map((v) => v.toFixed(1)).join(', ')}]`);
  if (r.drawn) lines.push(`  drew boxes to ${r.drawn}`);
  return lines.join('\n');
}

export function registerDetect(program: Command): void {
  program
    .command('detect')
    .description('Detect objects with a DETR checkpoint, or what a prompt names with Grounding DINO, and print (or draw) labelled boxes')
    .argument('<image...>', 'image files or URLs, run as one padded batch; or one folder / glob / list.txt')
    .requiredOption(
      '--model <dir-or-id>',
      'detector checkpoint folder or Hugging Face id (facebook/detr-resnet-50, IDEA-Research/grounding-dino-tiny)',
    )
    .option('--prompt <text>', 'Grounding DINO: what to find, phrases ending in "." ("a cat. a remote control.")')
    .option('--threshold <score>', 'keep detections scoring above this (default 0.9; 0.35 with --prompt)', (v) => Number(v))
    .option('--text-threshold <score>', 'with --prompt: tokens scoring above this name the box (default 0.25)', (v) => Number(v))
    .option(
      '--out <file>',
      'images: draw the boxes and save a PNG (one per image: <name>-<i>.png); a folder: the detections file (JSON Lines, or COCO results with --format coco)',
    )
    .addOption(
      new Option('--format <format>', 'a folder: jsonl (one line per image) or coco (results for eval-coco)').choices(['jsonl', 'coco']),
    )
    .option('--gt <instances.json>', 'a folder with --format coco: take each file’s image_id from this ground truth’s file_name')
    .addOption(new Option('--device <device>', 'where to run').choices(DEVICES).default('cpu'))
    .addOption(cacheOption())
    .action(async (images: string[], o: DetectCommandOptions & { format?: 'jsonl' | 'coco'; gt?: string }) => {
      if (isImageSet(images)) {
        const s = await detectImageSet(images[0], o, (line) => process.stderr.write(`${line}\n`));
        process.stdout.write(
          `${s.images} images, ${s.detections} detections${s.skipped.length ? `, ${s.skipped.length} skipped (${s.skipped.map((x) => `${x.path}: ${x.code}`).join('; ')})` : ''} → ${s.out}\n`,
        );
        return;
      }
      if (o.format || o.gt) throw new VitkitError('INVALID_ARGUMENT', '--format and --gt are for a folder, glob or list.txt of images.');
      const results = await runDetect(images, o);
      process.stdout.write(`${results.map(formatResult).join('\n')}\n`);
    });
}
