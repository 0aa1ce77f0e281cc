// `ModelClient` on the page's own thread: vitkit's AutoModel and the family classes called
// directly. A worker-backed client implements the same interface (see model-client.ts).
import {
  loadPretrained,
  type ModelFamily,
  type ModelLoadEvent,
  type PretrainedFiles,
  type ProcessorOutput,
  RgbImage,
  type Tensor,
  type VisionModel,
  VitkitError,
} from '@vitkit/core';
import { cosineSimilarity } from '@vitkit/core/internal';
import { AutoModel, Detr, DinoModel, findFamily } from '@vitkit/models';
import { asGroundedDetector, type GroundedDetector } from './grounding-dino-support.js';
import { checkpointFromFiles } from './local-checkpoint.js';
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
  PlaygroundDevice,
  Segmentation,
  StepTimings,
  Timed,
} from './model-client.js';
import { wasmThreads } from './onnxruntime-setup.js';

const now = () => performance.now();

/** Lets the browser paint a status line before a long synchronous step (the graph build). */
const nextFrame = () => new Promise<void>((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));

function toRgb(p: Pixels): RgbImage {
  return new RgbImage(p.data, p.width, p.height);
}

function toPixels(image: RgbImage): Pixels {
  return { data: image.data, width: image.width, height: image.height };
}

function tasksOf(model: VisionModel, grounded: GroundedDetector | undefined): ModelTask[] {
  if (grounded) return ['grounded-detect'];
  if (model instanceof Detr) {
    const tasks: ModelTask[] = [];
    if (model.architecture !== 'DetrModel') tasks.push('detect');
    if (model.spec.maskHead) tasks.push('segment');
    return tasks;
  }
  if (model.hasClassifier) return ['classify'];
  if (model instanceof DinoModel) return ['dino'];
  return [];
}

export class MainThreadClient implements ModelClient {
  private model: VisionModel | undefined;
  private family: ModelFamily | undefined;
  private grounded: GroundedDetector | undefined;
  private progress: (p: LoadProgress) => void = () => {};
  /** Milliseconds vitkit reported for graph builds and session creations so far (onLoadProgress). */
  private readonly steps = { graphMs: 0, sessionMs: 0 };

  private onLoadEvent(event: ModelLoadEvent): void {
    if (event.state === 'start') this.progress({ phase: event.stage });
    else if (event.stage === 'graph') this.steps.graphMs += event.ms;
    else this.steps.sessionMs += event.ms;
  }

  async load(ref: CheckpointRef, { device, dtype }: LoadOptions, onProgress: (p: LoadProgress) => void): Promise<ModelInfo> {
    await this.dispose();
    this.progress = onProgress;
    const started = now();
    let files: PretrainedFiles;
    let source: string;
    const download = (p: { file: string; loaded: number; total?: number }) => onProgress({ phase: 'download', ...p });
    if (ref.kind === 'files') {
      source = ref.label;
      onProgress({ phase: 'weights' });
      files = await checkpointFromFiles(ref.files, ref.label);
    } else if (ref.kind === 'url') {
      source = ref.url;
      files = await loadPretrained(ref.url, { onProgress: download });
    } else {
      source = ref.id;
      files = await loadPretrained(ref.id, { endpoint: ref.endpoint, revision: ref.revision, onProgress: download });
    }
    const filesMs = now() - started;
    const family = findFamily(files.config);
    const model = AutoModel.fromFiles(files, { device, dtype, onLoadProgress: (e) => this.onLoadEvent(e) });
    const grounded = asGroundedDetector(model, family);
    this.model = model;
    this.family = family;
    this.grounded = grounded;
    let weightBytes = 0;
    for (const name of files.weights.keys()) weightBytes += files.weights.get(name).data.byteLength;
    return {
      source,
      architecture: model.architecture,
      family: family.name,
      device,
      dtype,
      tasks: tasksOf(model, grounded),
      filesMs,
      weightBytes,
    };
  }

  private loaded(): VisionModel {
    if (!this.model) throw new VitkitError('INVALID_ARGUMENT', 'Load a model first.');
    return this.model;
  }

  private dino(): DinoModel {
    const model = this.loaded();
    if (!(model instanceof DinoModel) || model.hasClassifier) {
      throw new VitkitError('MODEL_TYPE_UNSUPPORTED', `${model.architecture} is not a DINO backbone; this task needs one.`);
    }
    return model;
  }

  private detr(): Detr {
    const model = this.loaded();
    if (!(model instanceof Detr)) throw new VitkitError('MODEL_TYPE_UNSUPPORTED', `${model.architecture} is not a DETR model.`);
    return model;
  }

  /**
   * Preprocesses, makes sure the session for this input size exists (vitkit reports the graph build
   * and session creation, if any, through onLoadProgress), then runs `task` on the preprocessed inputs.
   */
  private async timed<T>(
    model: VisionModel,
    image: Pixels,
    forward: { outputAttentions?: boolean },
    task: (inputs: ProcessorOutput, rgb: RgbImage) => Promise<T>,
  ): Promise<Timed<T>> {
    const started = now();
    const rgb = toRgb(image);
    const inputs = await model.preprocess(rgb);
    const preprocessMs = now() - started;
    const [, , height, width] = (inputs.pixel_values as Tensor).shape;
    const before = { ...this.steps };
    // Lets the status line paint before a graph build blocks this thread.
    await nextFrame();
    await model.warmup(height, width, forward);
    this.progress({ phase: 'run' });
    const runStarted = now();
    const value = await task(inputs, rgb);
    const runMs = now() - runStarted;
    const timings: StepTimings = {
      preprocessMs,
      graphMs: this.steps.graphMs - before.graphMs,
      sessionMs: this.steps.sessionMs - before.sessionMs,
      runMs,
      totalMs: now() - started,
    };
    return { value, timings };
  }

  async pca(image: Pixels): Promise<Timed<Pixels>> {
    const model = this.dino();
    return this.timed(model, image, {}, async (inputs) => toPixels(await model.pcaImage(inputs.pixel_values)));
  }

  async attention(image: Pixels): Promise<Timed<AttentionResult>> {
    const model = this.dino();
    return this.timed(model, image, { outputAttentions: true }, async (inputs) => {
      const maps = await model.attentionMaps(inputs.pixel_values);
      const heads = maps.maps.shape[0];
      const overlays = [toPixels(maps.overlay())];
      for (let h = 0; h < heads; h++) overlays.push(toPixels(maps.overlay(h)));
      return { view: toPixels(maps.view), heads, gridH: maps.gridH, gridW: maps.gridW, overlays };
    });
  }

  async patchFeatures(image: Pixels): Promise<Timed<PatchFeatures>> {
    const model = this.dino();
    // The view comes from the attention maps' own unnormalisation; patches from embed on the same pixels.
    return this.timed(model, image, {}, async (inputs) => {
      const { patches } = await model.embed(inputs.pixel_values);
      const [, gridH, gridW, dim] = patches.shape;
      const unitFeatures = new Float32Array(patches.data);
      for (let t = 0; t < gridH * gridW; t++) {
        const row = unitFeatures.subarray(t * dim, (t + 1) * dim);
        let norm = 0;
        for (const v of row) norm += v * v;
        norm = Math.sqrt(norm) || 1;
        for (let c = 0; c < dim; c++) row[c] /= norm;
      }
      return { view: viewOf(inputs.pixel_values, model), gridH, gridW, dim, unitFeatures };
    });
  }

  async imageSimilarity(a: Pixels, b: Pixels): Promise<Timed<number>> {
    const model = this.dino();
    const first = await this.timed(model, a, {}, async (inputs) => (await model.embed(inputs.pixel_values)).cls.data);
    const second = await this.timed(model, b, {}, async (inputs) => (await model.embed(inputs.pixel_values)).cls.data);
    const t1 = first.timings;
    const t2 = second.timings;
    return {
      value: cosineSimilarity(first.value, second.value),
      timings: {
        preprocessMs: (t1.preprocessMs ?? 0) + (t2.preprocessMs ?? 0),
        graphMs: (t1.graphMs ?? 0) + (t2.graphMs ?? 0),
        sessionMs: (t1.sessionMs ?? 0) + (t2.sessionMs ?? 0),
        runMs: t1.runMs + t2.runMs,
        totalMs: t1.totalMs + t2.totalMs,
      },
    };
  }

  async classify(image: Pixels, topK: number): Promise<Timed<ClassScore[]>> {
    const model = this.loaded();
    return this.timed(model, image, {}, async (inputs) => {
      const [top] = await model.classify(inputs.pixel_values, { topK });
      return top.map((c) => ({ label: c.label, score: c.score, index: c.index }));
    });
  }

  async detect(image: Pixels, threshold: number): Promise<Timed<Detection[]>> {
    const model = this.detr();
    return this.timed(model, image, {}, async (inputs) => {
      const [found] = await model.detectPixels(inputs.pixel_values, inputs.pixel_mask, {
        threshold,
        targetSizes: [[image.height, image.width]],
      });
      return found.map((d) => ({ label: d.label, score: d.score, box: [...d.box] as Detection['box'] }));
    });
  }

  async segment(image: Pixels, threshold: number): Promise<Timed<Segmentation>> {
    const model = this.detr();
    // segment() preprocesses and post-processes itself; its time is counted as the run.
    return this.timed(model, image, {}, async (_inputs, rgb) => {
      const [result] = await model.segment(rgb, { threshold });
      const [height, width] = result.segmentation.shape;
      return {
        width,
        height,
        ids: result.segmentation.data,
        segments: result.segments.map((s) => ({ id: s.id, label: s.label, score: s.score, area: s.area })),
      };
    });
  }

  async groundedDetect(image: Pixels, prompt: string, threshold: number, textThreshold: number): Promise<Timed<Detection[]>> {
    const model = this.loaded();
    const detector = this.grounded;
    if (!detector) throw new VitkitError('MODEL_TYPE_UNSUPPORTED', `${model.architecture} does not detect from a text prompt.`);
    const started = now();
    const before = { ...this.steps };
    // detect() tokenizes, preprocesses and builds the session itself: the graph and session steps come
    // from onLoadProgress, the rest counts as the run.
    const [found] = await detector.detect([toRgb(image)], prompt, { threshold, textThreshold });
    const totalMs = now() - started;
    const graphMs = this.steps.graphMs - before.graphMs;
    const sessionMs = this.steps.sessionMs - before.sessionMs;
    return {
      value: found.map((d) => ({ label: d.label, score: d.score, box: [d.box[0], d.box[1], d.box[2], d.box[3]] })),
      timings: { graphMs, sessionMs, runMs: Math.max(0, totalMs - graphMs - sessionMs), totalMs },
    };
  }

  runtimeDetail(device: PlaygroundDevice): string | undefined {
    if (device !== 'wasm') return undefined;
    // vitkit sets onnxruntime-web's threads when it makes the first session.
    const threads = wasmThreads();
    return threads === undefined ? 'threads set at the first run' : `${threads} thread${threads === 1 ? '' : 's'}`;
  }

  async dispose(): Promise<void> {
    const model = this.model;
    this.model = undefined;
    this.family = undefined;
    this.grounded = undefined;
    await model?.dispose();
  }

  /** The registry family of the loaded model (for display). */
  get familyName(): string | undefined {
    return this.family?.name;
  }
}

/** pixel_values [1, 3, H, W] back to 8-bit RGB with the processor's mean and std: the image the model saw. */
function viewOf(pixelValues: Tensor, model: VisionModel): Pixels {
  const [, , height, width] = pixelValues.shape;
  const { imageMean: mean, imageStd: std } = model.imageProcessor.options;
  const src = pixelValues.data as Float32Array;
  const plane = height * width;
  const data = new Uint8Array(plane * 3);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < plane; i++) data[i * 3 + c] = Math.max(0, Math.min(255, Math.round((src[c * plane + i] * std[c] + mean[c]) * 255)));
  }
  return { data, width, height };
}
