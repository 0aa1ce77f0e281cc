import { type Classification, type Device, loadPretrained, type VisionModel, VitkitError } from '@vitkit/core';
import { AutoModel, FAMILIES } from '@vitkit/models';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { type CacheFlag, cacheOption, optimizedModelCache } from '../model-cache.js';

export interface ClassifyCommandOptions extends CacheFlag {
  model: string;
  topK: number;
  device: Device;
  json?: boolean;
}

export interface ImageClassification {
  image: string;
  classes: Classification[];
}

/** Any registered checkpoint with a classification head (config.json → architectures[0]). */
async function classifierFor(o: ClassifyCommandOptions): Promise<VisionModel> {
  const files = await loadPretrained(o.model);
  const model = AutoModel.fromFiles(files, { device: o.device, optimizedModelCache: optimizedModelCache(o) });
  if (!model.hasClassifier) {
    await model.dispose();
    const known = FAMILIES.flatMap((f) => f.architectures).filter((a) => a.includes('ForImageClassification'));
    throw new VitkitError(
      'MODEL_TYPE_UNSUPPORTED',
      `vitkit classify needs an image-classification checkpoint; ${files.source} is "${model.architecture}". Supported: ${known.join(', ')}.`,
    );
  }
  return model;
}

/** Loads the checkpoint, preprocesses the images with its preprocessor_config.json and ranks the classes of each. */
export async function runClassify(images: string[], o: ClassifyCommandOptions): Promise<ImageClassification[]> {
  if (images.length === 0) throw new VitkitError('INVALID_ARGUMENT', 'Give at least one image to classify.');
  const model = await classifierFor(o);
  try {
    // One image at a time: processors that neither crop nor resize to a fixed size cannot batch mixed sizes.
    const results: ImageClassification[] = [];
    for (const image of images) {
      const [classes] = await model.classify(image, { topK: o.topK });
      results.push({ image, classes });
    }
    return results;
  } finally {
    await model.dispose();
  }
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer.');
  return n;
}

export function registerClassify(program: Command): void {
  program
    .command('classify')
    .description('Classify images with any image-classification checkpoint (DeiT, Swin, DINOv2 heads): top classes with softmax scores')
    .argument('<image...>', 'image files or URLs')
    .requiredOption('--model <dir-or-id>', 'checkpoint folder or Hugging Face id')
    .option('--top-k <k>', 'classes to show per image', positiveInt, 5)
    .addOption(new Option('--device <device>', 'where to run').choices(['cpu', 'wasm', 'webgpu']).default('cpu'))
    .addOption(cacheOption())
    .option('--json', 'print the results as JSON')
    .action(async (images: string[], o: ClassifyCommandOptions) => {
      const results = await runClassify(images, o);
      if (o.json) {
        process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
        return;
      }
      for (const { image, classes } of results) {
        process.stdout.write(`${image}\n`);
        for (const c of classes) process.stdout.write(`  ${c.score.toFixed(4)}  ${c.label}\n`);
      }
    });
}
