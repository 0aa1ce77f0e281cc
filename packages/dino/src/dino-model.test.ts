import { loadPretrained, Tensor, VitkitError } from '@vitkit/core';
import { fixturePath, readFixtureTensors } from '@vitkit/test-support';
import { afterAll, describe, expect, it } from 'vitest';
import { Dino, DinoModel, Dinov2 } from './dino-model.js';

const CATS = fixturePath('preprocess/images/cats.png');
const models: DinoModel[] = [];
async function load(id: string): Promise<DinoModel> {
  const m = new DinoModel(await loadPretrained(fixturePath(id)), { device: 'cpu' });
  models.push(m);
  return m;
}
afterAll(async () => {
  for (const m of models) await m.dispose();
});

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

describe('embed', () => {
  it('splits last_hidden_state into CLS and the patch grid, matching the reference', async () => {
    const model = await load('dinov2/default-res');
    const expected = readFixtureTensors('dinov2/default-res/expected.safetensors').get('last_hidden_state')!;
    const input = readFixtureTensors('dinov2/default-res/input.safetensors').get('pixel_values')!;
    const { cls, patches, pooled, registers } = await model.embed(input);
    expect(cls.shape).toEqual([1, 32]);
    expect(patches.shape).toEqual([1, 4, 4, 32]);
    expect(registers).toBeUndefined();
    const e = expected.data as Float32Array;
    expect(maxDiff(cls.data, e.subarray(0, 32))).toBeLessThan(1e-4);
    expect(maxDiff(patches.data, e.subarray(32))).toBeLessThan(1e-4);
    expect(maxDiff(pooled!.data, cls.data)).toBeLessThan(1e-6); // DINOv2 pooler = normalised CLS
  });

  it('through ONNX external data (as checkpoints over 2 GiB load) gives the inline outputs', async () => {
    const input = readFixtureTensors('dinov2/default-res/input.safetensors').get('pixel_values')!;
    const inline = await (await load('dinov2/default-res')).embed(input);
    const external = new DinoModel(await loadPretrained(fixturePath('dinov2/default-res')), { device: 'cpu', externalDataThreshold: 0 });
    models.push(external);
    const viaFiles = await external.embed(input);
    expect(maxDiff(viaFiles.cls.data, inline.cls.data)).toBe(0);
    expect(maxDiff(viaFiles.patches.data, inline.patches.data)).toBe(0);
  });

  it('returns register tokens separately', async () => {
    const model = await load('dinov2_with_registers/registers');
    const expected = readFixtureTensors('dinov2_with_registers/registers/expected.safetensors').get('last_hidden_state')!;
    const input = readFixtureTensors('dinov2_with_registers/registers/input.safetensors').get('pixel_values')!;
    const { registers, patches } = await model.embed(input);
    expect(registers!.shape).toEqual([1, 4, 32]);
    expect(patches.shape).toEqual([1, 3, 4, 32]);
    expect(maxDiff(registers!.data, (expected.data as Float32Array).subarray(32, 5 * 32))).toBeLessThan(1e-4);
  });

  it('embeds an image file through the checkpoint preprocessor', async () => {
    const model = await Dinov2.fromPretrained(fixturePath('dinov2/default-res'), { device: 'cpu' });
    models.push(model);
    const fromFile = await model.embed(CATS);
    const pixels = (await model.preprocess(CATS)).pixel_values;
    const fromPixels = await model.embed(pixels);
    expect(pixels.shape).toEqual([1, 3, 56, 56]);
    expect(maxDiff(fromFile.cls.data, fromPixels.cls.data)).toBe(0);
    const two = await model.embed([CATS, CATS]);
    expect(two.cls.shape).toEqual([2, 32]);
  });

  it('refuses embed on a classification checkpoint', async () => {
    const model = await load('dinov2/classification');
    await expect(model.embed(CATS)).rejects.toBeInstanceOf(VitkitError);
  });
});

describe('attentionMaps', () => {
  it('gives each head’s CLS→patch attention from the last layer, and an overlay of the model’s view', async () => {
    const model = await load('vit/dino-attentions');
    const input = readFixtureTensors('vit/dino-attentions/input.safetensors').get('pixel_values')!;
    const last = readFixtureTensors('vit/dino-attentions/expected.safetensors').get('attentions_last')! as Tensor<'float32'>;
    const result = await model.attentionMaps(input);
    expect(result.maps.shape).toEqual([3, 4, 4]);
    const [, heads, t] = last.shape;
    for (let h = 0; h < heads; h++) {
      const row = last.data.subarray(h * t * t + 1, h * t * t + t); // query CLS, keys = patches
      expect(maxDiff(result.maps.data.subarray(h * 16, (h + 1) * 16), row)).toBeLessThan(1e-4);
    }
    const overlay = result.overlay();
    expect([overlay.width, overlay.height]).toEqual([32, 32]);
    const values = new Set(overlay.data);
    expect(values.size).toBeGreaterThan(20); // a picture, not a flat fill
    expect(() => result.overlay(7)).toThrow(VitkitError);
  });
});

describe('pcaImage', () => {
  it('maps patch features to an RGB picture, one block per patch, each channel spanning 0..255', async () => {
    const model = await load('dinov2/default-res');
    const pca = await model.pcaImage(CATS);
    expect([pca.width, pca.height]).toEqual([56, 56]);
    for (let c = 0; c < 3; c++) {
      const ch = pca.data.filter((_, i) => i % 3 === c);
      expect(Math.min(...ch)).toBe(0);
      expect(Math.max(...ch)).toBe(255);
    }
  });
});

describe('classify', () => {
  it('ranks id2label names by softmax of the reference logits', async () => {
    const model = await load('dinov2/classification');
    const input = readFixtureTensors('dinov2/classification/input.safetensors').get('pixel_values')!;
    const logits = readFixtureTensors('dinov2/classification/expected.safetensors').get('logits')!.data as Float32Array;
    const [top] = await model.classify(input, { topK: 3 });
    expect(top).toHaveLength(3);
    const best = logits.indexOf(Math.max(...logits));
    expect(top[0].label).toBe(`LABEL_${best}`);
    const exps = Array.from(logits, (v) => Math.exp(v));
    expect(top[0].score).toBeCloseTo(exps[best] / exps.reduce((a, b) => a + b), 4);
    expect(top[0].score).toBeGreaterThanOrEqual(top[1].score);
  });
});

describe('optimizedModelCache', () => {
  it('serves a later load from the cache, matching the reference, and misses once the weights change', async () => {
    const { cpSync, mkdtempSync, rmSync, utimesSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const root = mkdtempSync(join(tmpdir(), 'vitkit-dino-cache-'));
    const checkpoint = join(root, 'checkpoint');
    const cache = join(root, 'optimized');
    cpSync(fixturePath('dinov2/default-res'), checkpoint, { recursive: true });
    const input = readFixtureTensors('dinov2/default-res/input.safetensors').get('pixel_values')!;
    const expected = readFixtureTensors('dinov2/default-res/expected.safetensors').get('last_hidden_state')!;
    const open = async () => new DinoModel(await loadPretrained(checkpoint), { device: 'cpu', optimizedModelCache: cache });
    try {
      const sessions: boolean[] = [];
      for (let i = 0; i < 2; i++) {
        const model = await open();
        sessions.push((await model.warmup(input.shape[2], input.shape[3])).fromCache);
        const { last_hidden_state } = await model.run({ pixel_values: input });
        expect(maxDiff(last_hidden_state.data as Float32Array, expected.data as Float32Array)).toBeLessThan(1e-4);
        await model.dispose();
      }
      expect(sessions).toEqual([false, true]);
      // New weights (a later modification time): the cached graph no longer applies.
      const later = new Date(Date.now() + 5000);
      utimesSync(join(checkpoint, 'model.safetensors'), later, later);
      const changed = await open();
      expect((await changed.warmup(input.shape[2], input.shape[3])).fromCache).toBe(false);
      // A different input size or output set is its own graph.
      expect((await changed.warmup(28, 28)).fromCache).toBe(false);
      await changed.dispose();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('sessions per input size', () => {
  const pixels = (h: number, w: number, seed: number) => {
    const data = Float32Array.from({ length: 3 * h * w }, (_, i) => Math.sin(i * 0.37 + seed));
    return new Tensor('float32', data, [1, 3, h, w]);
  };

  it('keeps at most maxSessions, least recently used out, and a size evicted then asked again is rebuilt with the same outputs', async () => {
    const model = new DinoModel(await loadPretrained(fixturePath('dinov2/interp-nonsquare')), { device: 'cpu', maxSessions: 2 });
    models.push(model);
    const sizes: [number, number][] = [
      [28, 28],
      [42, 28],
      [28, 56],
      [56, 42],
    ];
    const first = (await model.run({ pixel_values: pixels(28, 28, 1) })).last_hidden_state;
    for (const [h, w] of sizes.slice(1)) {
      await model.run({ pixel_values: pixels(h, w, 2) });
      expect(model.sessionCount).toBeLessThanOrEqual(2);
    }
    expect(model.sessionCount).toBe(2);
    const again = (await model.run({ pixel_values: pixels(28, 28, 1) })).last_hidden_state;
    expect(Array.from(again.data as Float32Array)).toEqual(Array.from(first.data as Float32Array));
  });

  it('runs many sizes concurrently under a bound of 1 without disposing a session in use', async () => {
    const model = new DinoModel(await loadPretrained(fixturePath('dinov2/interp-nonsquare')), { device: 'cpu', maxSessions: 1 });
    models.push(model);
    const runs = [28, 42, 56, 70].map((h, i) => model.run({ pixel_values: pixels(h, 28, i) }));
    const outs = await Promise.all(runs);
    outs.forEach((o, i) => expect(o.last_hidden_state.shape).toEqual([1, 1 + ((28 + 14 * i) / 14) * 2, 32]));
    expect(model.sessionCount).toBe(1);
  });

  it('refuses a maxSessions that is not a positive integer', async () => {
    const files = await loadPretrained(fixturePath('dinov2/default-res'));
    expect(() => new DinoModel(files, { maxSessions: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

describe('Dino and Dinov2 take their own checkpoints', () => {
  it('Dino refuses a DINOv2 checkpoint and Dinov2 a ViT one, naming the class to use', async () => {
    await expect(Dino.fromPretrained(fixturePath('dinov2/default-res'))).rejects.toMatchObject({
      code: 'MODEL_TYPE_UNSUPPORTED',
      message: expect.stringContaining('Use Dinov2'),
    });
    await expect(Dinov2.fromPretrained(fixturePath('vit/dino-attentions'))).rejects.toMatchObject({
      code: 'MODEL_TYPE_UNSUPPORTED',
      message: expect.stringContaining('Use Dino'),
    });
  });
});
