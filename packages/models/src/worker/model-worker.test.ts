// The worker API over Node worker_threads: the real worker script (bundled from the sources), the
// fixture checkpoints, onnxruntime-node on cpu inside the worker thread.
import { Worker } from 'node:worker_threads';
import { type ModelLoadEvent, RgbImage, Tensor } from '@vitkit/core';
import { Dinov2 } from '@vitkit/dino';
import { GroundingDino } from '@vitkit/grounding-dino';
import { fixturePath, readFixtureTensors, rejectionCodeOf } from '@vitkit/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleNodeWorker } from '../test-support/bundle-for-tests.js';
import type { WorkerLoadProgress } from './expose-model-worker.js';
import { connectModelWorker, type ModelWorker } from './model-worker.js';

const ENTRY = new URL('./test-support/node-worker-entry.ts', import.meta.url).pathname;
const DINO = fixturePath('dinov2/default-res');
const DINO_CLASSIFIER = fixturePath('dinov2/classification');

let script: string;

const workers: Worker[] = [];

function start(): { worker: Worker; model: ModelWorker } {
  const worker = new Worker(script);
  workers.push(worker);
  return { worker, model: connectModelWorker(worker) };
}

beforeAll(async () => {
  script = await bundleNodeWorker(ENTRY);
});

afterAll(async () => {
  await Promise.all(workers.map((w) => w.terminate()));
});

describe('ModelWorker over Node worker_threads', () => {
  it('loads a checkpoint with progress, embeds with the input transferred, equal to the same model in-process', async () => {
    const { model } = start();
    const events: WorkerLoadProgress[] = [];
    const info = await model.load(DINO, { threads: 1, onProgress: (e) => events.push(e) });
    expect(info).toMatchObject({ architecture: 'Dinov2Model', family: 'dino', device: 'cpu', dtype: 'fp32', fromCache: false });
    expect(info.methods).toEqual(expect.arrayContaining(['run', 'embed', 'pcaImage', 'attentionMaps']));
    expect(info.methods).not.toContain('classify');
    // Graph built in JS, then onnxruntime's session, in that order, each timed.
    const stages = events.map((e) => `${(e as ModelLoadEvent).stage}:${(e as ModelLoadEvent).state}`);
    expect(stages).toEqual(['graph:start', 'graph:done', 'session:start', 'session:done']);
    const graphDone = events[1] as Extract<ModelLoadEvent, { stage: 'graph'; state: 'done' }>;
    expect(graphDone.ms).toBeGreaterThan(0);
    expect(graphDone.nodeCount).toBeGreaterThan(10);

    const pixels = readFixtureTensors('dinov2/default-res/input.safetensors').get('pixel_values') as Tensor;
    const sent = new Tensor('float32', (pixels.data as Float32Array).slice(), pixels.shape);
    const fromWorker = await model.embed(sent);
    expect(sent.data.byteLength).toBe(0); // moved, not copied

    const local = await Dinov2.fromPretrained(DINO, { threads: 1 });
    try {
      const here = await local.embed(pixels);
      expect(fromWorker.cls).toBeInstanceOf(Tensor);
      expect(fromWorker.cls.shape).toEqual(here.cls.shape);
      expect(fromWorker.patches.shape).toEqual(here.patches.shape);
      expect(Array.from(fromWorker.cls.data)).toEqual(Array.from(here.cls.data));
      expect(Array.from(fromWorker.patches.data)).toEqual(Array.from(here.patches.data));
      // And the reference output of transformers.
      const expected = readFixtureTensors('dinov2/default-res/expected.safetensors').get('last_hidden_state') as Tensor;
      const cls = expected.data.subarray(0, here.cls.data.length) as Float32Array;
      for (let i = 0; i < cls.length; i++) expect(Math.abs(fromWorker.cls.data[i] - cls[i])).toBeLessThan(1e-4);
    } finally {
      await local.dispose();
    }

    const raw = await model.run({ pixel_values: new Tensor('float32', (pixels.data as Float32Array).slice(), pixels.shape) });
    expect(Object.keys(raw)).toEqual(expect.arrayContaining(['last_hidden_state', 'pooler_output']));
    expect(raw.last_hidden_state).toBeInstanceOf(Tensor);

    const pca = await model.pcaImage(new Tensor('float32', (pixels.data as Float32Array).slice(), pixels.shape));
    expect(pca).toBeInstanceOf(RgbImage);
    expect(pca.width * pca.height).toBeGreaterThan(0);
    const attention = await model.attentionMaps(pixels, { transfer: false });
    expect(pixels.data.byteLength).toBeGreaterThan(0); // transfer: false copies
    expect(attention.headOverlays).toHaveLength(attention.maps.shape[0]);
    expect(attention.overlay).toBeInstanceOf(RgbImage);
    await model.dispose();
    expect(await rejectionCodeOf(model.embed(pixels, { transfer: false }))).toBe('INVALID_ARGUMENT'); // nothing loaded now
    await model.close();
    expect(await rejectionCodeOf(model.embed(pixels, { transfer: false }))).toBe('INVALID_ARGUMENT'); // closed
  });

  it('classifies decoded pixels and loads from bytes (no path) with the same answer', async () => {
    const { model } = start();
    await model.load(DINO_CLASSIFIER, { threads: 1 });
    const rgba = new Uint8Array(40 * 30 * 4).map((_, i) => (i * 37) % 251);
    const top = await model.classify({ data: rgba.slice(), width: 40, height: 30 }, { topK: 2 });
    expect(top).toHaveLength(1);
    expect(top[0]).toHaveLength(2);
    expect(top[0][0].score).toBeGreaterThanOrEqual(top[0][1].score);

    const { readFileSync } = await import('node:fs');
    const files = Object.fromEntries(
      ['config.json', 'preprocessor_config.json', 'model.safetensors'].map((f) => [
        `picked/${f}`,
        new Uint8Array(readFileSync(`${DINO_CLASSIFIER}/${f}`)),
      ]),
    );
    const second = start().model;
    await second.load({ files, name: 'picked' }, { threads: 1 });
    expect(await second.classify({ data: rgba.slice(), width: 40, height: 30 }, { topK: 2 })).toEqual(top);
    // The weights moved to the worker with that load: sending them again is refused here, not left hanging.
    const moved = { 'model.safetensors': files['picked/model.safetensors'] };
    expect(await rejectionCodeOf(second.load({ files: moved }))).toBe('INVALID_ARGUMENT');
    expect(await rejectionCodeOf(second.load({ files: { 'model.safetensors': new Uint8Array(8) } }))).toBe('FILE_NOT_FOUND');
  });

  it('detects what a prompt names with Grounding DINO, from picked files too, equal to the model in-process', async () => {
    const { readFileSync } = await import('node:fs');
    const gdDir = fixturePath('grounding_dino/swin-bert-tiny');
    const rgba = new Uint8Array(48 * 40 * 4).map((_, i) => (i * 53) % 251);
    const image = () => ({ data: rgba.slice(), width: 48, height: 40 });
    const options = { threshold: 0, textThreshold: 0.2 };
    const { model } = start();
    const info = await model.load(gdDir, { threads: 1 });
    expect(info.methods).toContain('detectPrompted');
    const found = await model.detectPrompted(image(), 'a cat. a remote control.', options);
    const local = await GroundingDino.fromPretrained(gdDir, { device: 'cpu' });
    try {
      const want = await local.detect(image(), 'a cat. a remote control.', options);
      expect(found).toEqual(want);
    } finally {
      await local.dispose();
    }
    // Picked files: the tokenizer comes from the same set of bytes.
    const names = ['config.json', 'processor_config.json', 'tokenizer_config.json', 'vocab.txt', 'model.safetensors'];
    const files = Object.fromEntries(names.map((f) => [`gd/${f}`, new Uint8Array(readFileSync(`${gdDir}/${f}`))]));
    const picked = start().model;
    await picked.load({ files, name: 'gd' }, { threads: 1 });
    expect(await picked.detectPrompted(image(), 'a cat. a remote control.', options)).toEqual(found);
    expect(await rejectionCodeOf(picked.detect(image()))).toBe('MODEL_TYPE_UNSUPPORTED');
  });

  it('keeps VitkitError codes across the boundary', async () => {
    const { model } = start();
    expect(await rejectionCodeOf(model.embed(Tensor.zeros('float32', [1, 3, 56, 56])))).toBe('INVALID_ARGUMENT'); // before load
    expect(await rejectionCodeOf(model.load(fixturePath('no-such-checkpoint')))).toBe('FILE_NOT_FOUND');
    await model.load(DINO, { threads: 1, warmup: false });
    expect(await rejectionCodeOf(model.run({ pixel_values: Tensor.zeros('float32', [1, 56, 56]) }))).toBe('INPUT_SHAPE_INVALID');
    expect(await rejectionCodeOf(model.classify(Tensor.zeros('float32', [1, 3, 56, 56])))).toBe('MODEL_TYPE_UNSUPPORTED');
    expect(await rejectionCodeOf(model.detect(new Uint8Array(4)))).toBe('MODEL_TYPE_UNSUPPORTED');
    const error = await model.run({ nope: Tensor.zeros('float32', [1]) }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'VitkitError', code: 'INPUT_INVALID' });
    expect((error as Error).message).toMatch(/takes no input "nope"/);
  });

  it('fails pending and later calls with WORKER_FAILED when the worker dies', async () => {
    const worker = new Worker('setTimeout(() => { throw new Error("boom in worker"); }, 50);', { eval: true });
    workers.push(worker);
    const model = connectModelWorker(worker);
    const pending = model.load(DINO);
    const error = await pending.catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'WORKER_FAILED' });
    expect((error as Error).message).toMatch(/boom in worker/);
    expect(await rejectionCodeOf(model.dispose())).toBe('WORKER_FAILED');
  });

  it('terminate() waits for the run in flight: the process survives workers stopped mid-loop', async () => {
    // worker.terminate() alone, mid-run, aborts this whole process with onnxruntime-node 1.30.
    const pixels = readFixtureTensors('dinov2/default-res/input.safetensors').get('pixel_values') as Tensor;
    for (let round = 0; round < 3; round++) {
      const started = [start(), start()];
      await Promise.all(started.map(({ model }) => model.load(DINO, { threads: 1 })));
      let stop = false;
      const loops = started.map(async ({ model }) => {
        let runs = 0;
        while (!stop) {
          if ((await rejectionCodeOf(model.embed(pixels, { transfer: false }))) !== undefined) break;
          runs++;
        }
        return runs;
      });
      await new Promise((resolve) => setTimeout(resolve, 50));
      await Promise.all(started.map(({ model }) => model.terminate()));
      stop = true;
      expect((await Promise.all(loops)).every((runs) => runs > 0)).toBe(true);
    }
  });

  it('runs one session per worker thread, several workers side by side', async () => {
    const a = start().model;
    const b = start().model;
    await Promise.all([a.load(DINO, { threads: 1 }), b.load(DINO, { threads: 1 })]);
    const pixels = readFixtureTensors('dinov2/default-res/input.safetensors').get('pixel_values') as Tensor;
    const [ea, eb] = await Promise.all([a.embed(pixels, { transfer: false }), b.embed(pixels, { transfer: false })]);
    expect(ea.cls.data.length).toBeGreaterThan(0);
    expect(Array.from(ea.cls.data)).toEqual(Array.from(eb.cls.data));
  });
});
