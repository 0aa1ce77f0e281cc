import { readFile } from 'node:fs/promises';
import { DEVICES, type Device, loadPretrained, type ModelDtype, readSafetensors, VitkitError, writeSafetensors } from '@vitkit/core';
import { AutoModel } from '@vitkit/models';
import { type Command, Option } from 'commander';
import { type CacheFlag, cacheOption, optimizedModelCache } from '../model-cache.js';
import { writeFileAtomic } from '../output-file.js';

interface RunOptions extends CacheFlag {
  inputs?: string;
  pixels?: string;
  out: string;
  outputHiddenStates?: boolean;
  outputAttentions?: boolean;
  device: Device;
  dtype: ModelDtype;
}

/**
 * The parity contract: run the class named by config.json on the named input tensors it declares
 * (pixel_values, pixel_mask, input_ids, …) and write every output under Hugging Face's names,
 * tuples flattened as `<name>_<i>`.
 */
export function registerRun(program: Command): void {
  program
    .command('run')
    .description('Run a checkpoint on the input tensors of a safetensors file and write every output to safetensors')
    .argument('<model>', 'checkpoint folder or Hugging Face id')
    .option('--inputs <file>', "safetensors with the model's named inputs (pixel_values, pixel_mask, input_ids, …); others are ignored")
    .option('--pixels <file>', 'alias of --inputs')
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
      const inputsPath = o.inputs ?? o.pixels;
      if (!inputsPath) throw new VitkitError('INVALID_ARGUMENT', 'Give the input tensors with --inputs <file.safetensors>.');
      const tensors = readSafetensors(await readInput(inputsPath), inputsPath).tensors;
      const vision = AutoModel.fromFiles(await loadPretrained(model), {
        device: o.device,
        dtype: o.dtype,
        optimizedModelCache: optimizedModelCache(o),
      });
      try {
        // Every tensor of the file the model declares, under its own name; `run` checks dtypes and shapes.
        const declared = vision.inputSpecs.map((s) => s.name);
        const inputs = Object.fromEntries(declared.filter((n) => tensors.has(n)).map((n) => [n, tensors.get(n)]));
        const outputs = await vision.run(inputs, { outputHiddenStates: o.outputHiddenStates, outputAttentions: o.outputAttentions });
        await writeFileAtomic(o.out, writeSafetensors(outputs));
        const names = Object.keys(outputs).sort();
        process.stdout.write(`${vision.architecture} on ${o.device}: wrote ${names.length} outputs to ${o.out} (${names.join(', ')})\n`);
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
