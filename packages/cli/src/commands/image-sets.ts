import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEVICES, type Device, type ModelDtype, VitkitError } from '@vitkit/core';
import { buildImageIndex, type FailedImage, ImageIndex, knnEval, loadEmbedder } from '@vitkit/image-sets';
import cliProgress from 'cli-progress';
import { type Command, Option } from 'commander';
import { type CacheFlag, cacheOption, optimizedModelCache } from '../model-cache.js';

export interface ImageSetFlags extends CacheFlag {
  model: string;
  device: Device;
  out?: string;
  batchSize: number;
  workers?: number;
  patches?: boolean;
  format?: 'lance' | 'npy' | 'parquet';
  dtype: ModelDtype;
}

const positiveInt = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new VitkitError('INVALID_ARGUMENT', `${name} must be a whole number, got ${v}.`);
  return n;
};

/** `--dtype`: the weight precision `vitkit embed` runs the model in (an index keeps it, and search embeds queries so). */
export const embedDtypeOption = () =>
  new Option('--dtype <dtype>', 'weight precision (fp16: webgpu/cuda; int8, int4: cpu, wasm); an index holds one')
    .choices(['fp32', 'fp16', 'int8', 'int4'])
    .default('fp32');

/** `--batch-size`, `--workers`, `--patches`: the options `vitkit embed` takes for a folder. */
export const imageSetOptions = () => [
  new Option('--batch-size <n>', 'images per model call (folders)').argParser(positiveInt('--batch-size')).default(16),
  new Option('--workers <n>', 'decode worker threads (folders; default: cores - 1, 0 = decode in the main thread)').argParser(
    positiveInt('--workers'),
  ),
  new Option('--patches', 'also store each image’s patch features in the index (large; lance only)'),
  new Option('--format <format>', 'folders: a LanceDB index (searchable), cls.npy + pooled.npy + rows.jsonl, or part-*.parquet files')
    .choices(['lance', 'npy', 'parquet'])
    .default('lance'),
];

/** One argument that names many images: a folder, a glob or a .txt list. */
export function isImageSet(args: readonly string[]): boolean {
  if (args.length !== 1) return false;
  const [a] = args;
  if (/[*?[{]/.test(a) || a.toLowerCase().endsWith('.txt')) return true;
  return existsSync(a) && statSync(a).isDirectory();
}

/** A local checkpoint folder by absolute path, so `vitkit search` finds it from anywhere; a Hub id as given. */
function modelIdFor(model: string): string {
  return existsSync(model) ? resolve(model) : model;
}

/** `vitkit embed <folder|glob|list.txt> --out <index>`: a resumable LanceDB index with a progress bar and a summary. */
export async function embedImageSet(source: string, o: ImageSetFlags): Promise<void> {
  if (!o.out)
    throw new VitkitError('INVALID_ARGUMENT', 'Embedding a folder needs --out <index folder> (a LanceDB index, resumed if it exists).');
  const stop = new AbortController();
  const onSigint = () => {
    process.stderr.write('\nstopping after the current batch (what is embedded is kept; run again to continue)…\n');
    stop.abort();
    process.off('SIGINT', onSigint); // a second Ctrl-C ends at once
  };
  process.on('SIGINT', onSigint);
  const bar = new cliProgress.SingleBar(
    {
      format: '[{bar}] {value}/{total} | {speed} images/s | ETA {eta_formatted} | {failed} failed',
      hideCursor: true,
      stream: process.stderr,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  const failures: FailedImage[] = [];
  let started = 0;
  let embedded = 0;
  try {
    const summary = await buildImageIndex(source, {
      model: modelIdFor(o.model),
      modelOptions: { device: o.device, dtype: o.dtype, optimizedModelCache: optimizedModelCache(o) },
      out: o.out,
      batchSize: o.batchSize,
      decodeWorkers: o.workers,
      patches: o.patches === true,
      format: o.format,
      signal: stop.signal,
      onProgress: (b) => {
        if (started === 0) {
          started = performance.now();
          bar.start(b.total, 0, { speed: '-', failed: 0 });
        }
        embedded += b.embedded.length;
        failures.push(...b.failed);
        const seconds = (performance.now() - started) / 1000;
        bar.update(b.done, { speed: seconds > 0 ? (embedded / seconds).toFixed(1) : '-', failed: failures.length });
      },
    });
    bar.stop();
    for (const f of summary.failed) process.stderr.write(`skipped ${f.path}: ${f.code} ${f.message}\n`);
    process.stdout.write(
      `${summary.stopped ? 'stopped' : 'done'}: ${summary.embedded} embedded, ${summary.skipped} already in the index, ` +
        `${summary.failed.length} unreadable, of ${summary.total} images in ${summary.seconds.toFixed(1)} s ` +
        `(${summary.imagesPerSecond.toFixed(1)} images/s); ${o.out} holds ${summary.rows} rows` +
        `${summary.annIndex ? ' with an ANN index' : ''}\n`,
    );
  } finally {
    bar.stop();
    process.off('SIGINT', onSigint);
  }
}

/** `vitkit search` and `vitkit knn-eval`. */
export function registerImageSets(program: Command): void {
  program
    .command('search')
    .description('The images of an index nearest to an image, by cosine similarity of their CLS embeddings')
    .argument('<image>', 'query image path or URL')
    .requiredOption('--index <dir>', 'index built by `vitkit embed <folder> --out <dir>`')
    .addOption(new Option('-k <n>', 'how many neighbours').argParser(positiveInt('-k')).default(10))
    .option('--json', 'print the hits as JSON')
    .addOption(new Option('--device <device>', 'where to run').choices(DEVICES).default('cpu'))
    .addOption(cacheOption())
    .action(async (image: string, o: CacheFlag & { index: string; k: number; json?: boolean; device: Device }) => {
      const index = await ImageIndex.open(o.index);
      try {
        if (!index.modelId) throw new VitkitError('INDEX_INVALID', `${o.index} is empty: embed some images into it first.`);
        // The query is embedded as the index's vectors were: same model, same precision.
        const model = await loadEmbedder(index.modelId, {
          device: o.device,
          dtype: index.precision,
          optimizedModelCache: optimizedModelCache(o),
        });
        let query: Float32Array;
        try {
          query = (await model.embed(image)).cls.data;
        } finally {
          await model.dispose();
        }
        const hits = await index.search(query, o.k);
        if (o.json) {
          process.stdout.write(
            `${JSON.stringify(
              hits.map((h, i) => ({ rank: i + 1, ...h })),
              null,
              2,
            )}\n`,
          );
          return;
        }
        process.stdout.write(' rank  cosine  path\n');
        hits.forEach((h, i) => process.stdout.write(`${String(i + 1).padStart(5)}  ${h.similarity.toFixed(4)}  ${h.path}\n`));
      } finally {
        index.close();
      }
    });

  program
    .command('knn-eval')
    .description("DINO's k-NN classification protocol on labelled folders (<class>/<image>): top-1 and top-5")
    .argument('<train>', 'folder of <class>/<image> whose embeddings vote')
    .argument('<val>', 'folder of <class>/<image> to classify')
    .option('--model <dir-or-id>', 'checkpoint', 'facebook/dinov2-small')
    .addOption(new Option('-k <n>', 'neighbours that vote (DINO: 20)').argParser(positiveInt('-k')).default(20))
    .addOption(new Option('--temperature <t>', 'softmax temperature (DINO: 0.07)').argParser(Number).default(0.07))
    .addOption(new Option('--device <device>', 'where to run').choices(DEVICES).default('cpu'))
    .option('--json', 'print the result as JSON')
    .addOption(cacheOption())
    .addOption(imageSetOptions()[0])
    .addOption(imageSetOptions()[1])
    .action(async (train: string, val: string, o: ImageSetFlags & { k: number; temperature: number; json?: boolean }) => {
      const r = await knnEval(train, val, {
        model: o.model,
        modelOptions: { device: o.device, optimizedModelCache: optimizedModelCache(o) },
        k: o.k,
        temperature: o.temperature,
        batchSize: o.batchSize,
        decodeWorkers: o.workers,
      });
      for (const f of r.failed) process.stderr.write(`skipped ${f.path}: ${f.code} ${f.message}\n`);
      if (o.json) {
        process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
        return;
      }
      process.stdout.write(
        `top-1 ${(100 * r.top1).toFixed(2)}%  top-5 ${(100 * r.top5).toFixed(2)}%  ` +
          `(${r.val} val, ${r.train} train images, ${r.classes} classes, k=${o.k}, T=${o.temperature})\n`,
      );
    });
}
