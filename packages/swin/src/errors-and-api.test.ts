import { loadPretrained, type PretrainedFiles, synthesizeWeights, Tensor } from '@vitkit/core';
import { WeightStore } from '@vitkit/core/internal';
import { type CheckpointEdit, compareArrays, editCheckpoint, fixturePath, readFixtureTensors } from '@vitkit/test-support';
import { describe, expect, it } from 'vitest';
import { swinFamily } from './family.js';
import { readSwinSpec } from './model.js';
import { readSwinv2Spec } from './model-v2.js';
import { swinStateDict } from './state-dict.js';
import { Swin } from './swin-model.js';

const load = (id: string) => loadPretrained(fixturePath(id));

/** A copy of a fixture checkpoint with its config and weights edited. */
const edited = async (id: string, edit: CheckpointEdit): Promise<PretrainedFiles> => editCheckpoint(await load(id), edit);

const code = (c: string) => expect.objectContaining({ name: 'VitkitError', code: c });
const zeros = (...shape: number[]) => Tensor.zeros('float32', shape);

/** microsoft/swin-tiny-patch4-window7-224's config with zero weights of the right shapes. */
function swinTinyCheckpoint(): PretrainedFiles {
  const config = {
    architectures: ['SwinForImageClassification'],
    model_type: 'swin',
    embed_dim: 96,
    depths: [2, 2, 6, 2],
    num_heads: [3, 6, 12, 24],
    window_size: 7,
    patch_size: 4,
    image_size: 224,
    mlp_ratio: 4.0,
    layer_norm_eps: 1e-5,
    hidden_act: 'gelu',
    num_channels: 3,
  };
  const m = new Map<string, Tensor>();
  const ln = (k: string, d: number) => {
    m.set(`${k}.weight`, zeros(d));
    m.set(`${k}.bias`, zeros(d));
  };
  const lin = (k: string, o: number, i: number, bias = true) => {
    m.set(`${k}.weight`, zeros(o, i));
    if (bias) m.set(`${k}.bias`, zeros(o));
  };
  m.set('swin.embeddings.patch_embeddings.projection.weight', zeros(96, 3, 4, 4));
  m.set('swin.embeddings.patch_embeddings.projection.bias', zeros(96));
  ln('swin.embeddings.norm', 96);
  config.depths.forEach((depth, s) => {
    const d = 96 * 2 ** s;
    for (let b = 0; b < depth; b++) {
      const p = `swin.encoder.layers.${s}.blocks.${b}.`;
      ln(`${p}layernorm_before`, d);
      for (const k of ['query', 'key', 'value']) lin(`${p}attention.self.${k}`, d, d);
      m.set(`${p}attention.self.relative_position_bias_table`, zeros(169, config.num_heads[s]));
      lin(`${p}attention.output.dense`, d, d);
      ln(`${p}layernorm_after`, d);
      lin(`${p}intermediate.dense`, 4 * d, d);
      lin(`${p}output.dense`, d, 4 * d);
    }
    if (s < 3) {
      ln(`swin.encoder.layers.${s}.downsample.norm`, 4 * d);
      lin(`swin.encoder.layers.${s}.downsample.reduction`, 2 * d, 4 * d, false);
    }
  });
  ln('swin.layernorm', 768);
  lin('classifier', 1000, 768);
  return { source: 'swin-tiny (zero weights)', dir: '.', config, weights: new WeightStore(m, 'swin-tiny') };
}

describe('Swin bad input', () => {
  it('refuses an architecture it does not build', async () => {
    const files = await edited('swin/padding-shifted', { config: (c) => (c.architectures = ['SwinForMaskedImageModeling']) });
    expect(() => new Swin(files)).toThrow(code('MODEL_TYPE_UNSUPPORTED'));
  });

  it('names a missing config key', async () => {
    const files = await edited('swin/padding-shifted', { config: (c) => delete c.window_size });
    expect(() => new Swin(files)).toThrow(code('CONFIG_MISSING_KEY'));
  });

  it('rejects weights whose shapes config.json contradicts', async () => {
    const table = await edited('swin/padding-shifted', {
      weights: (m) => m.set('encoder.layers.1.blocks.1.attention.self.relative_position_bias_table', zeros(49, 3)),
    });
    expect(() => new Swin(table).graphFor(38, 30)).toThrow(code('WEIGHTS_SHAPE_MISMATCH'));
    const merge = await edited('swin/padding-shifted', {
      weights: (m) => m.set('encoder.layers.0.downsample.reduction.weight', zeros(32, 48)),
    });
    expect(() => new Swin(merge).graphFor(38, 30)).toThrow(code('WEIGHTS_SHAPE_MISMATCH'));
    const head = await edited('swin/classification', { weights: (m) => m.set('classifier.weight', zeros(4, 47)) });
    expect(() => new Swin(head).graphFor(32, 32)).toThrow(code('WEIGHTS_SHAPE_MISMATCH'));
  });

  it('refuses a grid smaller than the window (transformers 4.49 fails there too) and classification without a head', async () => {
    const model = new Swin(await load('swin/padding-shifted'));
    // 12x12 pixels → 6x6 tokens → 3x3 after merging, below window 4.
    expect(() => model.graphFor(12, 12)).toThrow(code('INPUT_SHAPE_INVALID'));
    await expect(model.classify(zeros(1, 3, 32, 32))).rejects.toThrow(code('MODEL_TYPE_UNSUPPORTED'));
  });
});

describe('Swin API', () => {
  it('is the family for its architectures', () => {
    expect(swinFamily.architectures).toEqual(['SwinModel', 'SwinForImageClassification', 'Swinv2Model', 'Swinv2ForImageClassification']);
    expect(swinFamily.modelTypes).toEqual({ swin: 'SwinModel', swinv2: 'Swinv2Model' });
  });

  it('featureMaps returns the NCHW maps of every stage (reshaped_hidden_states)', async () => {
    const model = await Swin.fromPretrained(fixturePath('swin/padding-shifted'), { device: 'cpu' });
    const pixels = readFixtureTensors('swin/padding-shifted/input.safetensors').get('pixel_values') as Tensor;
    const maps = await model.featureMaps(pixels);
    await model.dispose();
    const expected = readFixtureTensors('swin/padding-shifted/expected.safetensors');
    expect(maps.map((m) => m.shape)).toEqual([
      [1, 16, 19, 15],
      [1, 32, 10, 8],
      [1, 32, 10, 8],
    ]);
    maps.forEach((m, i) => {
      const cmp = compareArrays(m.data as Float32Array, expected.get(`reshaped_hidden_states_${i}`)?.data as Float32Array, 1e-4, 1e-3);
      expect(cmp.ok).toBe(true);
    });
  });

  it('runs a batch of images: windows of each image stay with it', async () => {
    const model = await Swin.fromPretrained(fixturePath('swin/padding-shifted'), { device: 'cpu' });
    const one = readFixtureTensors('swin/padding-shifted/input.safetensors').get('pixel_values') as Tensor;
    const flipped = Float32Array.from(one.data as Float32Array, (v) => -v);
    const batch = Tensor.fromFloat32(Float32Array.of(...(flipped as Float32Array), ...(one.data as Float32Array)), [
      2,
      ...one.shape.slice(1),
    ]);
    const out = await model.run({ pixel_values: batch }, { outputAttentions: true });
    await model.dispose();
    const expected = readFixtureTensors('swin/padding-shifted/expected.safetensors');
    for (const name of ['last_hidden_state', 'pooler_output', 'attentions_0', 'attentions_1']) {
      const e = expected.get(name) as Tensor;
      expect(out[name].shape).toEqual([e.shape[0] * 2, ...e.shape.slice(1)]);
      const second = (out[name].data as Float32Array).subarray(e.size);
      expect(compareArrays(second, e.data as Float32Array, 1e-4, 1e-3).ok, name).toBe(true);
    }
  });

  it('classify on pixels and on images (preprocessor_config.json) rank the softmax of the logits', async () => {
    const model = await Swin.fromPretrained(fixturePath('swin/classification'), { device: 'cpu' });
    const pixels = readFixtureTensors('swin/classification/input.safetensors').get('pixel_values') as Tensor;
    const [top] = await model.classify(pixels, { topK: 10 });
    const logits = Array.from(readFixtureTensors('swin/classification/expected.safetensors').get('logits')?.data as Float32Array);
    expect(top).toHaveLength(4);
    expect(top[0].index).toBe(logits.indexOf(Math.max(...logits)));
    expect(top[0].label).toBe(`LABEL_${top[0].index}`);
    const images = await model.classify(fixturePath('preprocess/images/cats.png'), { topK: 2 });
    await model.dispose();
    expect(images).toHaveLength(1);
    expect(images[0]).toHaveLength(2);
    expect(images[0][0].score).toBeGreaterThanOrEqual(images[0][1].score);
  });

  it('keeps a Swin-T graph at 224x224 compact', () => {
    const model = new Swin(swinTinyCheckpoint(), { device: 'cpu' });
    const g = model.graphFor(224, 224);
    const ops = Object.fromEntries(g.opCounts());
    // Per block: 1 Gather in, 1 Gather out; no Pad/Slice/Concat needed at 224 (every grid divides evenly).
    expect(ops.Gather).toBe(2 * 12 + 3);
    expect(ops.Concat ?? 0).toBe(0);
    expect(g.nodeCount).toBeLessThan(400);
  });
});

/** microsoft/swinv2-tiny-patch4-window8-256's config (apps/bench embeds the same) with seeded weights of its state dict. */
function swinv2TinyCheckpoint(): PretrainedFiles {
  const config = {
    architectures: ['Swinv2ForImageClassification'],
    model_type: 'swinv2',
    embed_dim: 96,
    depths: [2, 2, 6, 2],
    num_heads: [3, 6, 12, 24],
    window_size: 8,
    patch_size: 4,
    image_size: 256,
    pretrained_window_sizes: [0, 0, 0, 0],
    mlp_ratio: 4.0,
    layer_norm_eps: 1e-5,
    hidden_act: 'gelu',
    num_channels: 3,
    num_labels: 1000,
  };
  const weights = new WeightStore(synthesizeWeights(swinStateDict(config)), 'swinv2-tiny');
  return { source: 'swinv2-tiny (synthesized weights)', dir: '.', config, weights };
}

describe('Swin V2', () => {
  it('is built from Swinv2 checkpoints, by architectures or, without them, by model_type', async () => {
    expect(new Swin(await load('swinv2/classification')).architecture).toBe('Swinv2ForImageClassification');
    const bare = await edited('swinv2/padding-shifted', { config: (c) => delete c.architectures });
    expect(new Swin(bare).architecture).toBe('Swinv2Model');
  });

  it("fixes each stage's window and shift from config.image_size, not from the input", async () => {
    const files = await load('swinv2/classification');
    const spec = (c: Record<string, unknown>) => readSwinv2Spec(c, readSwinSpec(c, files.weights)).stages;
    // 32 px / patch 4 = 8 tokens: stage 0 (8) shifts, stage 1 (4 = one window) does not, whatever the input.
    expect(spec(files.config)).toEqual([
      { window: 4, shift: 2, pretrainedWindow: 3 },
      { window: 4, shift: 0, pretrainedWindow: 3 },
    ]);
    // 8 px → 2 tokens at stage 0, 1 at stage 1: the windows shrink to them.
    expect(spec({ ...files.config, image_size: 8 })).toEqual([
      { window: 2, shift: 0, pretrainedWindow: 3 },
      { window: 1, shift: 0, pretrainedWindow: 3 },
    ]);
    expect(spec({ ...files.config, pretrained_window_sizes: undefined }).map((s) => s.pretrainedWindow)).toEqual([0, 0]);
  });

  it('refuses configs transformers cannot build: pretrained window 1, a stage with no tokens at image_size', async () => {
    const pretrained = await edited('swinv2/classification', { config: (c) => (c.pretrained_window_sizes = [1, 1]) });
    expect(() => new Swin(pretrained)).toThrow(code('CONFIG_INVALID'));
    const tiny = await edited('swinv2/classification', { config: (c) => (c.image_size = 4) });
    expect(() => new Swin(tiny)).toThrow(code('CONFIG_INVALID'));
  });

  it('holds logit_scale, the position-bias MLP and the key (no bias) to their shapes', async () => {
    const key = 'swinv2.encoder.layers.1.blocks.1.attention.self.';
    const cases: [string, Tensor][] = [
      [`${key}logit_scale`, zeros(2, 1, 1)],
      [`${key}continuous_position_bias_mlp.2.weight`, zeros(2, 512)],
      [`${key}continuous_position_bias_mlp.0.weight`, zeros(512, 3)],
      [`${key}key.weight`, zeros(48, 24)],
    ];
    for (const [name, tensor] of cases) {
      const files = await edited('swinv2/classification', { weights: (m) => m.set(name, tensor) });
      expect(() => new Swin(files).graphFor(36, 44), name).toThrow(code('WEIGHTS_SHAPE_MISMATCH'));
    }
  });

  it('featureMaps returns the NCHW maps of every stage; classify ranks the logits', async () => {
    const model = await Swin.fromPretrained(fixturePath('swinv2/padding-shifted'), { device: 'cpu' });
    const pixels = readFixtureTensors('swinv2/padding-shifted/input.safetensors').get('pixel_values') as Tensor;
    const maps = await model.featureMaps(pixels);
    await model.dispose();
    const expected = readFixtureTensors('swinv2/padding-shifted/expected.safetensors');
    expect(maps.map((m) => m.shape)).toEqual([
      [1, 16, 19, 15],
      [1, 32, 10, 8],
      [1, 32, 10, 8],
    ]);
    maps.forEach((m, i) => {
      const cmp = compareArrays(m.data as Float32Array, expected.get(`reshaped_hidden_states_${i}`)?.data as Float32Array, 1e-4, 1e-3);
      expect(cmp.ok).toBe(true);
    });
    const classifier = await Swin.fromPretrained(fixturePath('swinv2/classification'), { device: 'cpu' });
    const input = readFixtureTensors('swinv2/classification/input.safetensors').get('pixel_values') as Tensor;
    const [top] = await classifier.classify(input, { topK: 4 });
    const images = await classifier.classify(fixturePath('preprocess/images/cats.png'), { topK: 2 });
    await classifier.dispose();
    const logits = Array.from(readFixtureTensors('swinv2/classification/expected.safetensors').get('logits')?.data as Float32Array);
    expect(top.map((t) => t.index)).toEqual([0, 1, 2, 3].sort((a, b) => logits[b] - logits[a]));
    expect(top[0].label).toBe(`LABEL_${top[0].index}`);
    expect(images[0]).toHaveLength(2);
  });

  it('runs grids smaller than the window (padded to one window), where Swin v1 refuses them', async () => {
    const model = await Swin.fromPretrained(fixturePath('swinv2/padding-shifted'), { device: 'cpu' });
    // 12x12 pixels → 6x6 tokens → 3x3 after merging, below window 4.
    const out = await model.run({ pixel_values: zeros(1, 3, 12, 12) });
    await model.dispose();
    expect(out.last_hidden_state.shape).toEqual([1, 9, 32]);
    expect(Array.from(out.last_hidden_state.data as Float32Array).every(Number.isFinite)).toBe(true);
  });

  it('keeps a Swin V2-T graph at 256x256 compact: one constant bias per block, two normalisations', () => {
    const g = new Swin(swinv2TinyCheckpoint(), { device: 'cpu' }).graphFor(256, 256);
    const ops = Object.fromEntries(g.opCounts());
    // Per block: 1 Gather in, 1 Gather out; 3 patch mergings. No Pad/Slice/Concat at 256 (every grid divides evenly).
    expect(ops.Gather).toBe(2 * 12 + 3);
    expect(ops.ReduceL2).toBe(2 * 12);
    expect(ops.Concat ?? 0).toBe(0);
    expect(g.nodeCount).toBeLessThan(600);
  });
});
