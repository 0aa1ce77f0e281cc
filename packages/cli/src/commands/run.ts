import { readFile } from 'node:fs/promises';
import {
  DEVICES,
  type Device,
  loadPretrained,
  type ModelDtype,
  readSafetensors,
  type Tensor,
  VitkitError,
  writeSafetensors,
} from '@vitkit/core';
import { type Command, Option } from 'commander';
import { familyFor } from '../families.js';
import { type CacheFlag, cacheOption, optimizedModelCache } from '../model-cache.js';
import { writeFileAtomic } from '../output-file.js';

interface RunOptions extends CacheFlag {
  pixels: string;
  out: string;
  outputHiddenStates?: boolean;
  outputAttentions?: boolean;
  device: Device;
  dtype: ModelDtype;
}

/**
 * The parity contract: run the class named by config.json on given pixel_values (+ pixel_mask)
 * and write every output under Hugging Face's names, tuples flattened as `<name>_<i>`.
 */
export function registerRun(program: Command): void {
  program
    .command('run')
    .description('Run a checkpoint on pixel_values from a safetensors file and write every output to safetensors')
    .argument('<model>', 'checkpoint folder or Hugging Face id')
    .requiredOption('--pixels <file>', 'safetensors with pixel_values [B,3,H,W] float32 (and optional pixel_mask [B,H,W])')
    .requiredOption('--out <file>', 'safetensors file to write the outputs to')
    .option('--output-hidden-states', 'also write hidden_states_<i>')
    .option('--output-attentions', 'also write attentions_<i> and attentions_last')
    .addOption(new Option('--device <device>', 'where to run').choices(DEVICES).default('cpu'))
    .addOption(
      new Option('--dtype <dtype>', 'weight precision (fp16: webgpu/cuda; int8, int4: cpu)')
        .choices(['fp32', 'fp16', 'int8', 'int4'])
        .default('fp32'),
    )
    .addOption(cacheOption())
    .action(async (model: string, o: RunOptions) => {
      const inputs = readSafetensors(await readInput(o.pixels), o.pixels).tensors;
      const pixelValues = inputs.get('pixel_values');
      if (!pixelValues) throw new VitkitError('INVALID_ARGUMENT', `${o.pixels} has no "pixel_values" tensor.`);
      const files = await loadPretrained(model);
      const architecture = (files.config.architectures as string[] | undefined)?.[0];
      const vision = familyFor(architecture).create(files, {
        device: o.device,
        dtype: o.dtype,
        optimizedModelCache: optimizedModelCache(o),
      });
      try {
        const outputs = await vision.run(
          { pixel_values: pixelValues.toFloat32(), pixel_mask: inputs.get('pixel_mask') as Tensor | undefined },
          { outputHiddenStates: o.outputHiddenStates, outputAttentions: o.outputAttentions },
        );
        await writeFileAtomic(o.out, writeSafetensors(outputs));
        const names = Object.keys(outputs).sort();
        process.stdout.write(`${architecture} on ${o.device}: wrote ${names.length} outputs to ${o.out} (${names.join(', ')})\n`);
      } finally {
        await vision.dispose();
      }
    });
}

async function readInput(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (cause) {
    throw new VitkitError('FILE_NOT_FOUND', `Cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
}
