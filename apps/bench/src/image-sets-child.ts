// One image-sets measurement in its own process (so its peak RSS and its threads are its own):
//   model:   vitkit's model.embed on ready-made pixel batches (no files, no decoding, no store);
//   vitkit:  buildImageIndex over a folder (read, hash, decode in workers, embed, LanceDB), the session warmed first;
//   tjs:     a transformers.js pipeline('image-feature-extraction') loop over the same files, each CLS vector
//            stored in the same kind of LanceDB index, the pipeline warmed first.
// Files in → vectors stored is what `vitkit` and `tjs` time; model load is outside both.
import { basename, dirname, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Tensor } from '@vitkit/core';
import { buildImageIndex, discoverImages, type Embedder, ImageIndex, loadEmbedder } from '@vitkit/image-sets';

export type ImageSetsRequest =
  | { kind: 'model'; checkpoint: string; dtype: 'fp32' | 'int8'; batch: number; images: number; sample: string }
  | {
      kind: 'vitkit';
      checkpoint: string;
      dtype: 'fp32' | 'int8';
      batch: number;
      folder: string;
      out: string;
      decodeWorkers?: number;
      threads?: number;
    }
  | { kind: 'tjs'; exportDir: string; folder: string; out: string };

export interface ImageSetsResult {
  images: number;
  seconds: number;
  imagesPerSecond: number;
  /** CPU time of every thread of the process over the timed part, per image. */
  cpuMsPerImage: number;
  peakRssMb: number;
  /** vitkit: time inside model.embed, and its share of the wall clock (how busy the pipeline kept the model). */
  modelMs?: number;
  modelBusy?: number;
  /** vitkit: median ms of one model call in this run (contention shows as a slower call than model-only's). */
  batchMsP50?: number;
  failed?: number;
}

const peakRssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);
const cpuSince = (from: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1000;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/** The embedder with its model calls timed. */
function timedEmbedder(model: Embedder): { model: Embedder; calls: number[] } {
  const calls: number[] = [];
  const embed = model.embed.bind(model);
  model.embed = async (input) => {
    const t = performance.now();
    const out = await embed(input);
    calls.push(performance.now() - t);
    return out;
  };
  return { model, calls };
}

async function modelOnly(req: Extract<ImageSetsRequest, { kind: 'model' }>): Promise<ImageSetsResult> {
  const model = await loadEmbedder(req.checkpoint, { dtype: req.dtype, spinning: false });
  try {
    const one = (await model.preprocess(req.sample)).pixel_values;
    const size = one.data.length;
    const pixels = new Float32Array(req.batch * size);
    for (let i = 0; i < req.batch; i++) pixels.set(one.data, i * size);
    const input = new Tensor('float32', pixels, [req.batch, ...one.shape.slice(1)]);
    await model.embed(input); // session made, warm
    const runs = Math.ceil(req.images / req.batch);
    const times: number[] = [];
    const cpu = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      await model.embed(input);
      times.push(performance.now() - t);
    }
    const seconds = (performance.now() - t0) / 1000;
    const images = runs * req.batch;
    return {
      images,
      seconds,
      imagesPerSecond: images / seconds,
      cpuMsPerImage: cpuSince(cpu) / images,
      peakRssMb: peakRssMb(),
      batchMsP50: median(times),
    };
  } finally {
    await model.dispose();
  }
}

async function vitkitEndToEnd(req: Extract<ImageSetsRequest, { kind: 'vitkit' }>): Promise<ImageSetsResult> {
  // The options a model loaded by id gets in the pipeline (PIPELINE_MODEL_OPTIONS), plus the precision.
  const loaded = await loadEmbedder(req.checkpoint, {
    dtype: req.dtype,
    spinning: false,
    ...(req.threads ? { threads: req.threads } : {}),
  });
  await loaded.warmup(224, 224); // as model-only is: both time the steady state
  const { model, calls } = timedEmbedder(loaded);
  try {
    const cpu = process.cpuUsage();
    const s = await buildImageIndex(req.folder, { model, out: req.out, batchSize: req.batch, decodeWorkers: req.decodeWorkers });
    const modelMs = calls.reduce((a, b) => a + b, 0);
    return {
      images: s.embedded,
      seconds: s.seconds,
      imagesPerSecond: s.embedded / s.seconds,
      cpuMsPerImage: cpuSince(cpu) / s.embedded,
      peakRssMb: peakRssMb(),
      modelMs,
      modelBusy: modelMs / (1000 * s.seconds),
      batchMsP50: median(calls),
      failed: s.failed.length,
    };
  } finally {
    await loaded.dispose();
  }
}

async function transformersJs(req: Extract<ImageSetsRequest, { kind: 'tjs' }>): Promise<ImageSetsResult> {
  const { env, pipeline } = await import('@huggingface/transformers');
  const folder = resolve(req.exportDir);
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = `${dirname(folder)}/`;
  // transformers.js defaults otherwise (no session options), as its users run it.
  const extract = await pipeline('image-feature-extraction', basename(folder), {
    device: 'cpu',
    dtype: 'fp32',
    use_external_data_format: true,
  });
  const paths = await discoverImages(req.folder);
  await extract(paths[0], { pool: true }); // warm, as vitkit's session is
  const index = await ImageIndex.open(req.out, { modelId: `transformers.js:${basename(folder)}`, create: true });
  try {
    const cpu = process.cpuUsage();
    const t0 = performance.now();
    let failed = 0;
    for (const path of paths) {
      try {
        // pool: the model's pooler_output, DINOv2's CLS token after the final layer norm (what vitkit stores as cls).
        const out = await extract(path, { pool: true });
        await index.add([{ path, hash: path, cls: out.data as Float32Array }]);
      } catch {
        failed++;
      }
    }
    await index.finish({});
    const seconds = (performance.now() - t0) / 1000;
    const images = paths.length - failed;
    return { images, seconds, imagesPerSecond: images / seconds, cpuMsPerImage: cpuSince(cpu) / images, peakRssMb: peakRssMb(), failed };
  } finally {
    index.close();
    await extract.dispose();
  }
}

process.once('message', async (req: ImageSetsRequest) => {
  try {
    const result =
      req.kind === 'model' ? await modelOnly(req) : req.kind === 'vitkit' ? await vitkitEndToEnd(req) : await transformersJs(req);
    process.send?.({ ok: true, result });
  } catch (error) {
    process.send?.({ ok: false, error: String((error as Error)?.stack ?? error) });
  }
  process.disconnect?.();
});
