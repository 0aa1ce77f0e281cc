import { relative, sep } from 'node:path';
import { VitkitError } from '@vitkit/core';
import { KnnClassifier } from '@vitkit/dino';
import { discoverImages } from './discover-images.js';
import { type EmbedImagesOptions, embedImages, type FailedImage, loadEmbedder, PIPELINE_MODEL_OPTIONS } from './embed-images.js';

export interface KnnEvalOptions extends Omit<EmbedImagesOptions, 'skip' | 'patches'> {
  /** Neighbours that vote (DINO: 20). */
  k?: number;
  /** Softmax temperature on the cosine similarities (DINO: 0.07). */
  temperature?: number;
}

export interface KnnEvalResult {
  /** Fractions in [0, 1] of validation images whose class is first / among the first five. */
  top1: number;
  top5: number;
  train: number;
  val: number;
  classes: number;
  failed: FailedImage[];
}

/**
 * DINO's k-NN classification protocol on two labelled folders (`<class>/<image>`, any depth below
 * the class): CLS features of the train images are stored, each validation image is classified
 * by the weighted vote of its k most similar (cosine) train images (`KnnClassifier`).
 */
export async function knnEval(trainDir: string, valDir: string, options: KnnEvalOptions): Promise<KnnEvalResult> {
  const model =
    typeof options.model === 'string'
      ? await loadEmbedder(options.model, { ...PIPELINE_MODEL_OPTIONS, ...options.modelOptions })
      : options.model;
  try {
    const classifier = new KnnClassifier({ k: options.k, temperature: options.temperature });
    const failed: FailedImage[] = [];
    const train = await labelled(trainDir);
    const classes = new Set(train.values());
    for await (const batch of embedImages([...train.keys()], { ...options, model })) {
      failed.push(...batch.failed);
      for (const e of batch.embedded) classifier.add(e.cls, train.get(e.path) as string);
    }
    if (classifier.size === 0) throw new VitkitError('INVALID_ARGUMENT', `No train image in ${trainDir} could be embedded.`);
    const val = await labelled(valDir);
    let top1 = 0;
    let top5 = 0;
    let n = 0;
    for await (const batch of embedImages([...val.keys()], { ...options, model })) {
      failed.push(...batch.failed);
      for (const e of batch.embedded) {
        const ranked = classifier.predict(e.cls).map((p) => p.label);
        const truth = val.get(e.path);
        n++;
        if (ranked[0] === truth) top1++;
        if (ranked.slice(0, 5).includes(truth as string)) top5++;
      }
    }
    if (n === 0) throw new VitkitError('INVALID_ARGUMENT', `No validation image in ${valDir} could be embedded.`);
    return { top1: top1 / n, top5: top5 / n, train: classifier.size, val: n, classes: classes.size, failed };
  } finally {
    if (typeof options.model === 'string') await model.dispose();
  }
}

/** path → class (the first folder below `dir`). */
async function labelled(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const path of await discoverImages(dir)) {
    const parts = relative(dir, path).split(sep);
    if (parts.length < 2) continue; // a file directly in the root has no class
    out.set(path, parts[0]);
  }
  if (out.size === 0) throw new VitkitError('INVALID_ARGUMENT', `${dir} has no images in class folders (<class>/<image>).`);
  return out;
}
