import { DEVICES, type Device, writeSafetensors } from '@vitkit/core';
import { type Command, Option } from 'commander';
import { type CacheFlag, cacheOption, optimizedModelCache } from '../model-cache.js';
import { loadModelFor } from '../model-capabilities.js';
import { writeFileAtomic } from '../output-file.js';
import { writePng } from '../png.js';
import { embedDtypeOption, embedImageSet, type ImageSetFlags, imageSetOptions, isImageSet } from './image-sets.js';

interface Common extends CacheFlag {
  model: string;
  device: Device;
}

const deviceOption = () => new Option('--device <device>', 'where to run').choices(DEVICES).default('cpu');

/** `vitkit embed`, `vitkit attention`, `vitkit pca`: image-level tools for any registered model that embeds (DINO family). */
export function registerDino(program: Command): void {
  const folder = imageSetOptions();
  program
    .command('embed')
    .description(
      'Embed images (CLS, patch grid, pooled, registers) with any checkpoint that embeds (DINO, DINOv2, DINOv3); a folder, glob or .txt list goes into a vector index',
    )
    .argument('<images...>', 'image paths or URLs, or one folder / glob / list.txt')
    .option('--model <dir-or-id>', 'checkpoint', 'facebook/dinov2-small')
    .option(
      '--out <file>',
      'images: write cls, patches and pooled to this safetensors file; a folder: the LanceDB index to build or resume',
    )
    .addOption(deviceOption())
    .addOption(embedDtypeOption())
    .addOption(cacheOption())
    .addOption(folder[0])
    .addOption(folder[1])
    .addOption(folder[2])
    .addOption(folder[3])
    .action(async (images: string[], o: Common & ImageSetFlags & { out?: string }) => {
      if (isImageSet(images)) return embedImageSet(images[0], o);
      const model = await loadModelFor('embed', 'embed', o.model, {
        device: o.device,
        dtype: o.dtype,
        optimizedModelCache: optimizedModelCache(o),
      });
      try {
        const e = await model.embed(images);
        const tensors = {
          cls: e.cls,
          patches: e.patches,
          ...(e.pooled ? { pooled: e.pooled } : {}),
          ...(e.registers ? { registers: e.registers } : {}),
        };
        for (const [name, t] of Object.entries(tensors)) process.stdout.write(`${name} [${t.shape.join(', ')}]\n`);
        if (o.out) {
          await writeFileAtomic(o.out, writeSafetensors(tensors));
          process.stdout.write(`wrote ${o.out}\n`);
        }
      } finally {
        await model.dispose();
      }
    });

  program
    .command('attention')
    .description("Render the last layer's CLS attention as a heat map over the image (DINO's figure)")
    .argument('<image>', 'image path or URL')
    .requiredOption('--out <file.png>', 'PNG to write')
    .option('--model <dir-or-id>', 'checkpoint', 'facebook/dino-vits16')
    .option('--head <n>', 'one attention head instead of the mean of all', (v) => Number.parseInt(v, 10))
    .addOption(deviceOption())
    .addOption(cacheOption())
    .action(async (image: string, o: Common & { out: string; head?: number }) => {
      const model = await loadModelFor('attentionMaps', 'attention', o.model, {
        device: o.device,
        optimizedModelCache: optimizedModelCache(o),
      });
      try {
        const maps = await model.attentionMaps(image);
        const overlay = maps.overlay(o.head);
        await writePng(o.out, overlay);
        process.stdout.write(
          `${maps.maps.shape[0]} heads on a ${maps.gridH}x${maps.gridW} grid → ${o.out} (${overlay.width}x${overlay.height})\n`,
        );
      } finally {
        await model.dispose();
      }
    });

  program
    .command('pca')
    .description('Picture the first three principal components of the patch features as RGB (DINOv2 figure)')
    .argument('<image>', 'image path or URL')
    .requiredOption('--out <file.png>', 'PNG to write')
    .option('--model <dir-or-id>', 'checkpoint', 'facebook/dinov2-small')
    .addOption(deviceOption())
    .addOption(cacheOption())
    .action(async (image: string, o: Common & { out: string }) => {
      const model = await loadModelFor('pcaImage', 'pca', o.model, { device: o.device, optimizedModelCache: optimizedModelCache(o) });
      try {
        const pca = await model.pcaImage(image);
        await writePng(o.out, pca);
        process.stdout.write(`${o.out} (${pca.width}x${pca.height})\n`);
      } finally {
        await model.dispose();
      }
    });
}
