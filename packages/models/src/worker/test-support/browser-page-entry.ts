// The page of the browser round trip: drives a ModelWorker and hands what it saw to the test.
import { Tensor } from '@vitkit/core';
import { connectModelWorker, type WorkerLoadProgress } from '@vitkit/models/worker';

const codeOf = async (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: { code?: string; name?: string }) => `${e?.name}:${e?.code}`,
  );

async function roundTrip(checkpoint: string, pixelsUrl: string): Promise<unknown> {
  const worker = new Worker('/worker.js', { type: 'module' });
  const model = connectModelWorker(worker);
  const progress: WorkerLoadProgress[] = [];
  const info = await model.load(checkpoint, { onProgress: (p) => progress.push(p) });
  // pixel_values [1, 3, h, w] float32 as raw bytes, prepared by the test.
  const { shape, bytes } = await (await fetch(pixelsUrl)).json();
  const data = new Float32Array(new Uint8Array(bytes).buffer);
  const input = new Tensor('float32', data, shape);
  const embeddings = await model.embed(input);
  const detachedAfterSend = data.byteLength === 0;
  const rgba = new Uint8ClampedArray(64 * 48 * 4).map((_, i) => (i * 29) % 256);
  const image = new ImageData(rgba, 64, 48);
  const pca = await model.pcaImage(image);
  const errors = {
    badShape: await codeOf(model.run({ pixel_values: Tensor.zeros('float32', [1, 3, 8]) })),
    noClassifier: await codeOf(model.classify(Tensor.zeros('float32', [1, 3, 56, 56]))),
    missingCheckpoint: await codeOf(model.load('/fixture/no-such-model')),
  };
  await model.dispose();
  worker.terminate();
  const broken = connectModelWorker(new Worker('/no-such-worker.js', { type: 'module' }));
  const workerFailed = await codeOf(broken.load(checkpoint));
  return {
    info,
    progress,
    cls: Array.from(embeddings.cls.data),
    clsIsTensor: embeddings.cls instanceof Tensor,
    patchesShape: embeddings.patches.shape,
    detachedAfterSend,
    imageDetached: rgba.byteLength === 0,
    pca: { width: pca.width, height: pca.height, nonZero: pca.data.some((v) => v !== 0) },
    errors,
    workerFailed,
    isolated: crossOriginIsolated,
  };
}

(globalThis as unknown as { roundTrip: typeof roundTrip }).roundTrip = roundTrip;
(globalThis as unknown as { pageReady: boolean }).pageReady = true;
