// `ModelClient` over vitkit's worker API (@vitkit/models/worker): the model lives in a Web Worker
// (model-worker.ts), so graph builds and runs never block the page. The page keeps its images, so
// each call sends a copy (structured clone) rather than moving the page's buffers.
import { isVitkitError, type RgbImage, VitkitError } from '@vitkit/core';
import { cosineSimilarity } from '@vitkit/core/internal';
import { connectModelWorker, type ModelWorker, type WorkerLoadProgress } from '@vitkit/models/worker';
import type {
  AttentionResult,
  CheckpointRef,
  ClassScore,
  Detection,
  LoadOptions,
  LoadProgress,
  ModelClient,
  ModelInfo,
  ModelTask,
  PatchFeatures,
  Pixels,
  Segmentation,
  Timed,
} from './model-client.js';

const now = () => performance.now();
const keep = { transfer: false } as const;

function toPixels(image: RgbImage): Pixels {
  return { data: image.data, width: image.width, height: image.height };
}

/** Runs `call`, timing the round trip (preprocessing and the run happen in the worker). */
async function timed<T>(call: () => Promise<T>): Promise<Timed<T>> {
  const started = now();
  const value = await call();
  const ms = now() - started;
  return { value, timings: { runMs: ms, totalMs: ms } };
}

export class WorkerClient implements ModelClient {
  private worker: Worker | undefined;
  private remote: ModelWorker | undefined;

  /**
   * The worker, started on first use and kept across loads (each load replaces its model, and
   * onnxruntime's wasm is compiled once); a fresh one after a failure, so a crashed or stuck worker
   * never serves the next load.
   */
  private workerFor(): ModelWorker {
    if (this.remote) return this.remote;
    this.worker = new Worker(new URL('./model-worker.ts', import.meta.url), { type: 'module', name: 'vitkit model' });
    this.remote = connectModelWorker(this.worker);
    return this.remote;
  }

  private stop(): void {
    this.remote?.close();
    this.worker?.terminate();
    this.remote = undefined;
    this.worker = undefined;
  }

  private loaded(): ModelWorker {
    if (!this.remote) throw new VitkitError('INVALID_ARGUMENT', 'Load a model first.');
    return this.remote;
  }

  async load(ref: CheckpointRef, { device, dtype }: LoadOptions, onProgress: (p: LoadProgress) => void): Promise<ModelInfo> {
    const remote = this.workerFor();
    const started = now();
    // No graph event at all when the compiled graph came from the browser's cache.
    let graphMs: number | undefined;
    let sessionMs = 0;
    const progress = (p: WorkerLoadProgress) => {
      if (p.stage === 'download') onProgress({ phase: 'download', file: p.file, loaded: p.loaded, total: p.total });
      else if (p.state === 'start') onProgress({ phase: p.stage });
      else if (p.stage === 'graph') graphMs = (graphMs ?? 0) + p.ms;
      else sessionMs += p.ms;
    };
    let source: Parameters<ModelWorker['load']>[0];
    let label: string;
    let hub: { endpoint?: string; revision?: string } = {};
    if (ref.kind === 'files') {
      const files: Record<string, File> = {};
      for (const f of ref.files) files[f.name.slice(f.name.lastIndexOf('/') + 1)] = f;
      source = { files, name: ref.label };
      label = ref.label;
      onProgress({ phase: 'weights' });
    } else if (ref.kind === 'url') {
      source = ref.url;
      label = ref.url;
    } else {
      source = ref.id;
      label = ref.id;
      hub = { endpoint: ref.endpoint, revision: ref.revision };
    }
    let info: Awaited<ReturnType<ModelWorker['load']>>;
    try {
      info = await remote.load(source, { device, dtype, ...hub, onProgress: progress });
    } catch (error) {
      if (isVitkitError(error) && error.code === 'WORKER_FAILED') this.stop();
      throw error;
    }
    const tasks: ModelTask[] = [];
    if (info.methods.includes('pcaImage')) tasks.push('dino');
    if (info.methods.includes('classify')) tasks.push('classify');
    if (info.methods.includes('detect')) tasks.push('detect');
    if (info.methods.includes('segment')) tasks.push('segment');
    if (info.methods.includes('detectPrompted')) tasks.push('grounded-detect');
    return {
      source: label,
      architecture: info.architecture,
      family: info.family,
      device: info.device === 'webgpu' ? 'webgpu' : 'wasm',
      dtype: info.dtype === 'fp16' || info.dtype === 'int8' ? info.dtype : 'fp32',
      tasks,
      filesMs: Math.max(0, now() - started - (graphMs ?? 0) - sessionMs),
      load: { graphMs, sessionMs, inputSize: info.inputSize },
    };
  }

  pca(image: Pixels): Promise<Timed<Pixels>> {
    return timed(async () => toPixels(await this.loaded().pcaImage(image, keep)));
  }

  attention(image: Pixels): Promise<Timed<AttentionResult>> {
    return timed(async () => {
      const a = await this.loaded().attentionMaps(image, keep);
      return {
        view: toPixels(a.view),
        heads: a.headOverlays.length,
        gridH: a.gridH,
        gridW: a.gridW,
        overlays: [toPixels(a.overlay), ...a.headOverlays.map(toPixels)],
      };
    });
  }

  patchFeatures(image: Pixels): Promise<Timed<PatchFeatures>> {
    return timed(async () => {
      const remote = this.loaded();
      const { patches } = await remote.embed(image, keep);
      // The image as the model saw it (resize, crop) comes with the attention maps: one more run, so
      // the similarity map lines up with the patches whatever the processor does.
      const { view } = await remote.attentionMaps(image, keep);
      const [, gridH, gridW, dim] = patches.shape;
      const unitFeatures = new Float32Array(patches.data);
      for (let t = 0; t < gridH * gridW; t++) {
        const row = unitFeatures.subarray(t * dim, (t + 1) * dim);
        let norm = 0;
        for (const v of row) norm += v * v;
        norm = Math.sqrt(norm) || 1;
        for (let c = 0; c < dim; c++) row[c] /= norm;
      }
      return { view: toPixels(view), gridH, gridW, dim, unitFeatures };
    });
  }

  imageSimilarity(a: Pixels, b: Pixels): Promise<Timed<number>> {
    return timed(async () => {
      const { cls } = await this.loaded().embed([a, b], keep);
      const dim = cls.shape[1];
      return cosineSimilarity(cls.data.subarray(0, dim), cls.data.subarray(dim, 2 * dim));
    });
  }

  classify(image: Pixels, topK: number): Promise<Timed<ClassScore[]>> {
    return timed(async () => {
      const [top] = await this.loaded().classify(image, { ...keep, topK });
      return top.map((c) => ({ label: c.label, score: c.score, index: c.index }));
    });
  }

  detect(image: Pixels, threshold: number): Promise<Timed<Detection[]>> {
    return timed(async () => {
      const [found] = await this.loaded().detect(image, { ...keep, threshold });
      return found.map((d) => ({ label: d.label, score: d.score, box: [d.box[0], d.box[1], d.box[2], d.box[3]] as Detection['box'] }));
    });
  }

  segment(image: Pixels, threshold: number): Promise<Timed<Segmentation>> {
    return timed(async () => {
      const [result] = await this.loaded().segment(image, { ...keep, threshold });
      const [height, width] = result.segmentation.shape;
      return {
        width,
        height,
        ids: result.segmentation.data,
        segments: result.segments.map((s) => ({ id: s.id, label: s.label, score: s.score, area: s.area })),
      };
    });
  }

  groundedDetect(image: Pixels, prompt: string, threshold: number, textThreshold: number): Promise<Timed<Detection[]>> {
    return timed(async () => {
      const [found] = await this.loaded().detectPrompted(image, prompt, { ...keep, threshold, textThreshold });
      return found.map((d) => ({ label: d.label, score: d.score, box: [d.box[0], d.box[1], d.box[2], d.box[3]] as Detection['box'] }));
    });
  }

  runtimeDetail(): string {
    return 'in a Web Worker';
  }

  async dispose(): Promise<void> {
    await this.remote?.dispose().catch(() => undefined);
    this.stop();
  }
}
