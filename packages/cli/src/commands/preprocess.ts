import { readFile } from 'node:fs/promises';
import { createImageProcessor, type PreprocessorConfig, Tensor, VitkitError, writeSafetensors } from '@vitkit/core';
import { type Command, Option } from 'commander';
import { writeFileAtomic } from '../output-file.js';

export interface PreprocessOptions {
  config: string;
  out: string;
  maskDtype?: 'uint8' | 'int64';
  maxPixels?: number;
}

export interface PreprocessResult {
  out: string;
  tensors: Record<string, { dtype: string; shape: readonly number[] }>;
}

async function readConfig(path: string): Promise<PreprocessorConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT')
      throw new VitkitError('FILE_NOT_FOUND', `Preprocessor config ${path} does not exist.`, { cause });
    throw new VitkitError('PROCESSOR_CONFIG_INVALID', `Could not read preprocessor config ${path}: ${(cause as Error).message}`, { cause });
  }
  try {
    return JSON.parse(text) as PreprocessorConfig;
  } catch (cause) {
    throw new VitkitError('PROCESSOR_CONFIG_INVALID', `Preprocessor config ${path} is not valid JSON.`, { cause });
  }
}

/** Preprocesses images as one batch with the config's processor and saves the tensors as safetensors. */
export async function runPreprocess(images: string[], options: PreprocessOptions): Promise<PreprocessResult> {
  if (images.length === 0) throw new VitkitError('INVALID_ARGUMENT', 'Give at least one image to preprocess.');
  const processor = createImageProcessor(await readConfig(options.config));
  const output = await processor.process(images, options.maxPixels === undefined ? undefined : { maxPixels: options.maxPixels });
  const tensors: Record<string, Tensor> = { pixel_values: output.pixel_values };
  if (output.pixel_mask) {
    const mask = output.pixel_mask;
    tensors.pixel_mask = options.maskDtype === 'uint8' ? new Tensor('uint8', Uint8Array.from(mask.data, Number), mask.shape) : mask;
  }
  await writeFileAtomic(options.out, writeSafetensors(tensors, { format: 'pt' }), { createFolders: false });
  return {
    out: options.out,
    tensors: Object.fromEntries(Object.entries(tensors).map(([name, t]) => [name, { dtype: t.dtype, shape: t.shape }])),
  };
}

export function registerPreprocess(program: Command): void {
  program
    .command('preprocess')
    .description('Preprocess images exactly as a Hugging Face image processor does and save pixel_values (+ pixel_mask) as safetensors')
    .argument('<image...>', 'image files or URLs, preprocessed as one batch')
    .requiredOption('--config <path>', 'preprocessor_config.json of the model')
    .requiredOption('--out <path>', 'output .safetensors file (written atomically)')
    .addOption(
      new Option('--mask-dtype <dtype>', 'dtype of pixel_mask, for processors that pad').choices(['uint8', 'int64']).default('int64'),
    )
    .option('--max-pixels <n>', 'refuse images with more pixels than this (default: 89478485, as Pillow)', (v) => {
      const n = Number(v);
      if (!(n > 0)) throw new VitkitError('INVALID_ARGUMENT', `--max-pixels must be a positive number, got ${v}.`);
      return n;
    })
    .action(async (images: string[], options: PreprocessOptions) => {
      const result = await runPreprocess(images, options);
      const summary = Object.entries(result.tensors).map(([name, t]) => `${name} ${t.dtype}[${t.shape.join(', ')}]`);
      process.stdout.write(`wrote ${summary.join(', ')} to ${result.out}\n`);
    });
}
