import { loadPretrained, type PretrainedFiles, Tensor } from '@vitkit/core';
import { type CheckpointEdit, editCheckpoint, fixturePath, readFixtureTensors } from '@vitkit/test-support';
import { describe, expect, it } from 'vitest';
import { Deit } from './deit-model.js';
import { deitFamily } from './family.js';

const load = (id: string) => loadPretrained(fixturePath(id));

/** A copy of a fixture checkpoint with its config and weights edited. */
const edited = async (id: string, edit: CheckpointEdit): Promise<PretrainedFiles> => editCheckpoint(await load(id), edit);

const code = (c: string) => expect.objectContaining({ name: 'VitkitError', code: c });

describe('DeiT bad input', () => {
  it('refuses an architecture it does not build', async () => {
    const files = await edited('deit/model', { config: (c) => (c.architectures = ['DeiTForMaskedImageModeling']) });
    expect(() => new Deit(files)).toThrow(code('MODEL_TYPE_UNSUPPORTED'));
  });

  it('names a missing config key', async () => {
    const files = await edited('deit/model', { config: (c) => delete c.num_attention_heads });
    expect(() => new Deit(files)).toThrow(code('CONFIG_MISSING_KEY'));
  });

  it('rejects a weight whose shape config.json contradicts', async () => {
    const files = await edited('deit/model', {
      weights: (m) => m.set('encoder.layer.1.intermediate.dense.weight', Tensor.fromFloat32(new Float32Array(95 * 48), [95, 48])),
    });
    expect(() => new Deit(files).graphFor(32, 32)).toThrow(code('WEIGHTS_SHAPE_MISMATCH'));
  });

  it('rejects a wrongly shaped classifier and position embeddings', async () => {
    const head = await edited('deit/with-teacher', {
      weights: (m) => m.set('distillation_classifier.weight', Tensor.fromFloat32(new Float32Array(6 * 31), [6, 31])),
    });
    expect(() => new Deit(head).graphFor(32, 32)).toThrow(code('WEIGHTS_SHAPE_MISMATCH'));
    const pos = await edited('deit/model', {
      weights: (m) => m.set('embeddings.position_embeddings', Tensor.fromFloat32(new Float32Array(18 * 47), [1, 18, 47])),
    });
    expect(() => new Deit(pos).graphFor(32, 32)).toThrow(code('WEIGHTS_SHAPE_MISMATCH'));
  });

  it('refuses an input smaller than one patch, and classification without a head', async () => {
    const model = new Deit(await load('deit/model'));
    expect(() => model.graphFor(4, 32)).toThrow(code('INPUT_SHAPE_INVALID'));
    await expect(model.classify(Tensor.zeros('float32', [1, 3, 32, 32]))).rejects.toThrow(code('MODEL_TYPE_UNSUPPORTED'));
  });
});

describe('DeiT API', () => {
  it('is the family for its architectures', () => {
    expect(deitFamily.architectures).toContain('DeiTForImageClassificationWithTeacher');
  });

  it('runs at another input size by interpolating the position embeddings', async () => {
    const model = await Deit.fromPretrained(fixturePath('deit/model'), { device: 'cpu' });
    const out = await model.run({ pixel_values: Tensor.zeros('float32', [2, 3, 40, 48]) });
    await model.dispose();
    expect(out.last_hidden_state.shape).toEqual([2, 2 + 5 * 6, 48]);
    expect(out.pooler_output.shape).toEqual([2, 48]);
  });

  it('classify: softmax over the averaged logits, best first, named by id2label', async () => {
    const model = await Deit.fromPretrained(fixturePath('deit/with-teacher'), { device: 'cpu' });
    const pixels = readFixtureTensors('deit/with-teacher/input.safetensors').get('pixel_values') as Tensor;
    const [top] = await model.classify(pixels, { topK: 3 });
    await model.dispose();
    const logits = Array.from(readFixtureTensors('deit/with-teacher/expected.safetensors').get('logits')?.data as Float32Array);
    const best = logits.map((v, i) => [v, i]).sort((a, b) => b[0] - a[0]);
    expect(top.map((c) => c.index)).toEqual(best.slice(0, 3).map(([, i]) => i));
    expect(top[0].label).toBe(`LABEL_${best[0][1]}`);
    const z = logits.reduce((acc, v) => acc + Math.exp(v), 0);
    expect(top[0].score).toBeCloseTo(Math.exp(best[0][0]) / z, 5);
  });

  it('classify loads and preprocesses images with preprocessor_config.json', async () => {
    const model = await Deit.fromPretrained(fixturePath('deit/with-teacher'), { device: 'cpu' });
    const results = await model.classify(
      [fixturePath('preprocess/images/cats.png'), fixturePath('preprocess/images/synthetic_97x61.png')],
      { topK: 6 },
    );
    await model.dispose();
    expect(results).toHaveLength(2);
    for (const r of results) {
      expect(r).toHaveLength(6);
      expect(r.reduce((acc, c) => acc + c.score, 0)).toBeCloseTo(1, 5);
      expect([...r].sort((a, b) => b.score - a.score)).toEqual(r);
    }
  });
});
