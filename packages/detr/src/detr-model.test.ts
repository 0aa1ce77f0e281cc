import { isVitkitError, loadPretrained, ModelSession, type PretrainedFiles, Tensor } from '@vitkit/core';
import {
  compareArrays,
  editCheckpoint,
  fixturePath,
  listModelCases,
  randomArray,
  readFixtureJson,
  readFixtureTensors,
} from '@vitkit/test-support';
import { describe, expect, it, vi } from 'vitest';
import { Detr } from './detr-model.js';
import { BACKBONE_SCOPE, readBackboneSpec } from './model/backbone-spec.js';
import { postProcessObjectDetection } from './postprocess/object-detection.js';

const CASES = listModelCases(['detr']);

interface ExpectedImage {
  scores: number[];
  labels: number[];
  boxes: number[][];
}

async function load(id: string, options: ConstructorParameters<typeof Detr>[1] = {}): Promise<Detr> {
  return new Detr(await loadPretrained(fixturePath(id)), { device: 'cpu', ...options });
}

/** A copy of a checkpoint's files with config.json edited. */
const withConfig = (files: PretrainedFiles, edit: (config: Record<string, unknown>) => void) => editCheckpoint(files, { config: edit });

/** One image of a batch, cropped to its top-left h x w: [1, 3, h, w]. */
function cropImage(px: Tensor, index: number, h: number, w: number): Tensor<'float32'> {
  const [, c, height, width] = px.shape;
  const src = px.data as Float32Array;
  const out = new Float32Array(c * h * w);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < h; y++)
      out.set(src.subarray(((index * c + ch) * height + y) * width, ((index * c + ch) * height + y) * width + w), (ch * h + y) * w);
  }
  return new Tensor('float32', out, [1, c, h, w]);
}

/** Height and width of the valid (mask = 1) top-left region of image `index`. */
function validSize(mask: Tensor, index: number): [number, number] {
  const [, height, width] = mask.shape;
  const m = mask.data as BigInt64Array;
  let h = 0;
  let w = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (m[(index * height + y) * width + x]) {
        h = Math.max(h, y + 1);
        w = Math.max(w, x + 1);
      }
    }
  }
  return [h, w];
}

describe('model → postProcessObjectDetection reproduces expected_postprocess.json', () => {
  it.each(CASES.map((c) => [c.id, c] as const))('%s', async (_id, c) => {
    const expected = readFixtureJson<Record<string, unknown> & { target_sizes: [number, number][] }>(`${c.id}/expected_postprocess.json`);
    const model = await load(c.id);
    const out = await model.run({ pixel_values: c.inputs.get('pixel_values') as Tensor, pixel_mask: c.inputs.get('pixel_mask') });
    await model.dispose();
    const thresholds = Object.keys(expected).filter((k) => k.startsWith('threshold_'));
    expect(thresholds.length).toBeGreaterThan(0);
    for (const key of thresholds) {
      const threshold = Number(key.slice('threshold_'.length));
      const got = postProcessObjectDetection(
        { logits: out.logits, pred_boxes: out.pred_boxes },
        { threshold, targetSizes: expected.target_sizes },
      );
      const want = expected[key] as ExpectedImage[];
      expect(got.length).toBe(want.length);
      got.forEach((image, b) => {
        expect(image.labels, `${key} image ${b} labels`).toEqual(want[b].labels);
        expect(compareArrays(image.scores, want[b].scores, 1e-5, 1e-4).ok, `${key} image ${b} scores`).toBe(true);
        expect(compareArrays(image.boxes.flat(), want[b].boxes.flat(), 1e-3, 1e-5).ok, `${key} image ${b} boxes`).toBe(true);
      });
    }
  });
});

describe('pixel mask', () => {
  it('without pixel_mask, run feeds an all-ones mask (as DetrModel does): the same outputs, and the reference', async () => {
    const c = CASES.find((x) => x.id === 'detr/resnet-basic');
    if (!c) throw new Error('fixture detr/resnet-basic is missing');
    const mask = c.inputs.get('pixel_mask') as Tensor;
    expect([...(mask.data as BigInt64Array)].every((v) => v === 1n)).toBe(true);
    const model = await load(c.id);
    const px = c.inputs.get('pixel_values') as Tensor;
    const without = await model.run({ pixel_values: px }, { outputHiddenStates: true });
    const withOnes = await model.run({ pixel_values: px, pixel_mask: mask }, { outputHiddenStates: true });
    expect(model.sessionCount).toBe(1);
    await model.dispose();
    for (const [name, expected] of c.expected) {
      expect(without[name].data, name).toEqual(withOnes[name].data);
      const cmp = compareArrays(without[name].data as Float32Array, expected.data as Float32Array, c.atol, c.rtol);
      expect(cmp.ok, `${name}: max |diff| ${cmp.maxAbs}`).toBe(true);
    }
  });

  it('accepts uint8 / float masks like the int64 one', async () => {
    const inputs = readFixtureTensors('detr/resnet-basic-padded/input.safetensors');
    const px = inputs.get('pixel_values') as Tensor;
    const mask = inputs.get('pixel_mask') as Tensor<'int64'>;
    const model = await load('detr/resnet-basic-padded');
    const reference = await model.run({ pixel_values: px, pixel_mask: mask });
    const asUint8 = new Tensor('uint8', Uint8Array.from(mask.data, Number), mask.shape);
    const fromUint8 = await model.run({ pixel_values: px, pixel_mask: asUint8 });
    await model.dispose();
    expect(fromUint8.logits.data).toEqual(reference.logits.data);
  });

  it.each(['detr/resnet-basic-padded', 'detr/timm-resnet50-tiny'])(
    '%s: a padded image in a masked batch gives the detections it gives alone at its own size',
    async (id) => {
      const inputs = readFixtureTensors(`${id}/input.safetensors`);
      const px = inputs.get('pixel_values') as Tensor;
      const mask = inputs.get('pixel_mask') as Tensor;
      const [, height, width] = mask.shape;
      const [h, w] = validSize(mask, 1);
      expect([h, w]).not.toEqual([height, width]); // image 2 really is padded
      const model = await load(id);
      const batch = await model.run({ pixel_values: px, pixel_mask: mask });
      const alone = await model.run({ pixel_values: cropImage(px, 1, h, w) });
      await model.dispose();
      const inBatch = postProcessObjectDetection(
        { logits: batch.logits, pred_boxes: batch.pred_boxes },
        {
          threshold: 0.5,
          targetSizes: [
            [height, width],
            [h, w],
          ],
        },
      )[1];
      const single = postProcessObjectDetection(
        { logits: alone.logits, pred_boxes: alone.pred_boxes },
        { threshold: 0.5, targetSizes: [[h, w]] },
      )[0];
      // The same queries detect the same classes. Scores and boxes agree closely but not bit for bit,
      // in transformers too: conv receptive fields at the image border see zero padding pixels in the
      // batch but the convolutions' own zero padding alone, so border features differ slightly.
      expect(inBatch.detections.length).toBeGreaterThan(0);
      expect(inBatch.labels).toEqual(single.labels);
      inBatch.detections.forEach((d, i) => {
        expect(Math.abs(d.score - single.scores[i]), `score of detection ${i}`).toBeLessThan(0.05);
        d.box.forEach((v, k) => expect(Math.abs(v - single.boxes[i][k]), `box of detection ${i}`).toBeLessThan(0.01 * Math.max(h, w)));
      });
    },
  );

  it('rejects empty pixel_values with INPUT_SHAPE_INVALID', async () => {
    const model = await load('detr/resnet-basic');
    for (const shape of [
      [1, 3, 0, 64],
      [0, 3, 64, 64],
    ]) {
      await expect(model.run({ pixel_values: Tensor.zeros('float32', shape) })).rejects.toSatisfy((e) =>
        isVitkitError(e, 'INPUT_SHAPE_INVALID'),
      );
    }
    await model.dispose();
  });

  it('rejects a pixel_mask of the wrong shape with INPUT_SHAPE_INVALID', async () => {
    const inputs = readFixtureTensors('detr/resnet-basic-padded/input.safetensors');
    const px = inputs.get('pixel_values') as Tensor;
    const model = await load('detr/resnet-basic-padded');
    const bad = [
      Tensor.zeros('int64', [2, 128, 150]), // wrong width
      Tensor.zeros('int64', [1, 128, 160]), // wrong batch
      Tensor.zeros('int64', [2, 1, 128, 160]), // wrong rank
    ];
    for (const pixel_mask of bad) {
      await expect(model.run({ pixel_values: px, pixel_mask })).rejects.toSatisfy((e) => isVitkitError(e, 'INPUT_SHAPE_INVALID'));
    }
    await model.dispose();
  });
});

describe('one graph and session for every input size', () => {
  /** [2, H, W]: image 1 all valid, image 2 valid in its top-left third (⌊H/3⌋ x ⌊W/3⌋), padding in the feature map too. */
  function paddedMask(h: number, w: number): Tensor<'int64'> {
    const m = new BigInt64Array(2 * h * w);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) m[y * w + x] = 1n;
    for (let y = 0; y < Math.floor(h / 3); y++) for (let x = 0; x < Math.floor(w / 3); x++) m[h * w + y * w + x] = 1n;
    return new Tensor('int64', m, [2, h, w]);
  }

  it('three sizes, with and without a mask, then the padded fixture batch as transformers: one graph built, one session', async () => {
    const c = CASES.find((x) => x.id === 'detr/resnet-basic-padded');
    if (!c) throw new Error('fixture detr/resnet-basic-padded is missing');
    const model = await load(c.id);
    const builds = vi.spyOn(model as unknown as { buildGraph: (...args: unknown[]) => unknown }, 'buildGraph');
    const sessions = vi.spyOn(ModelSession, 'create');
    const perImage = (t: Tensor, i: number) => {
      const n = t.size / t.shape[0];
      return (t.data as Float32Array).subarray(i * n, (i + 1) * n);
    };
    try {
      for (const [h, w] of [
        [64, 96],
        [100, 70],
        [33, 129],
      ]) {
        const pixels = new Tensor('float32', randomArray(2 * 3 * h * w, h + w), [2, 3, h, w]);
        const plain = await model.run({ pixel_values: pixels });
        const masked = await model.run({ pixel_values: pixels, pixel_mask: paddedMask(h, w) });
        const tokens = Math.ceil(h / 32) * Math.ceil(w / 32);
        expect(plain.encoder_last_hidden_state.shape, `${h}x${w}`).toEqual([2, tokens, model.spec.dModel]);
        expect(masked.logits.shape).toEqual([2, model.spec.numQueries, plain.logits.shape[2]]);
        // Image 1 has no padding in either run; image 2's padding is masked out of the second.
        expect(perImage(masked.logits, 0), `${h}x${w} image 1`).toEqual(perImage(plain.logits, 0));
        expect(compareArrays(perImage(masked.logits, 1), perImage(plain.logits, 1), 1e-4).ok, `${h}x${w} image 2`).toBe(false);
      }
      const out = await model.run({ pixel_values: c.inputs.get('pixel_values') as Tensor, pixel_mask: c.inputs.get('pixel_mask') });
      for (const name of ['logits', 'pred_boxes', 'last_hidden_state', 'encoder_last_hidden_state']) {
        const cmp = compareArrays(out[name].data as Float32Array, c.expected.get(name)?.data as Float32Array, c.atol, c.rtol);
        expect(cmp.ok, `${name}: max |diff| ${cmp.maxAbs}`).toBe(true);
      }
      expect(builds).toHaveBeenCalledTimes(1);
      expect(sessions).toHaveBeenCalledTimes(1);
      expect(model.sessionCount).toBe(1);
    } finally {
      sessions.mockRestore();
      await model.dispose();
    }
  });
});

describe('frozen batch norm folding', () => {
  it.each(CASES.map((c) => [c.id, c] as const))(
    '%s: folded graph matches the unfolded one with 2 nodes fewer per batch norm',
    async (_id, c) => {
      const folded = await load(c.id);
      const unfolded = await load(c.id, { foldBatchNorm: false });
      const [, , height, width] = (c.inputs.get('pixel_values') as Tensor).shape;
      const gf = folded.graphFor(height, width, { inputs: ['pixel_values', 'pixel_mask'] });
      const gu = unfolded.graphFor(height, width, { inputs: ['pixel_values', 'pixel_mask'] });
      const bnCount = folded.files.weights.keys().filter((k) => k.includes(BACKBONE_SCOPE) && k.endsWith('.running_var')).length;
      expect(gu.nodeCount - gf.nodeCount).toBe(2 * bnCount);
      expect(gf.opCounts().get('Conv')).toBe(gu.opCounts().get('Conv'));
      if (process.env.VITKIT_REPORT)
        console.log(`${c.id}: ${bnCount} batch norms, nodes folded ${gf.nodeCount} vs unfolded ${gu.nodeCount}`);
      const feeds = { pixel_values: c.inputs.get('pixel_values') as Tensor, pixel_mask: c.inputs.get('pixel_mask') };
      const a = await folded.run(feeds);
      const b = await unfolded.run(feeds);
      await folded.dispose();
      await unfolded.dispose();
      for (const name of ['logits', 'pred_boxes', 'encoder_last_hidden_state']) {
        const cmp = compareArrays(a[name].data as Float32Array, b[name].data as Float32Array, 1e-5, 1e-4);
        expect(cmp.ok, `${name}: max |diff| ${cmp.maxAbs}`).toBe(true);
        // And both match transformers.
        expect(
          compareArrays(b[name].data as Float32Array, c.expected.get(name)?.data as Float32Array, c.atol, c.rtol).ok,
          `${name} unfolded vs fixture`,
        ).toBe(true);
      }
    },
  );
});

describe('DetrModel and attention maps', () => {
  it("DetrModel (bare, with or without the model. prefix) gives the detector's hidden states", async () => {
    const c = CASES.find((x) => x.id === 'detr/resnet-basic-padded');
    if (!c) throw new Error('fixture detr/resnet-basic-padded is missing');
    const files = await loadPretrained(fixturePath(c.id));
    const bare = withConfig(files, (config) => {
      config.architectures = ['DetrModel'];
    });
    const stripped = new Map(
      files.weights
        .keys()
        .filter((k) => k.startsWith('model.'))
        .map((k) => [k.slice('model.'.length), files.weights.get(k)] as const),
    );
    const { WeightStore } = await import('@vitkit/core/internal');
    for (const checkpoint of [bare, { ...bare, weights: new WeightStore(stripped) }]) {
      const model = new Detr(checkpoint, { device: 'cpu' });
      expect(model.architecture).toBe('DetrModel');
      const out = await model.run({ pixel_values: c.inputs.get('pixel_values') as Tensor, pixel_mask: c.inputs.get('pixel_mask') });
      await model.dispose();
      expect(out.logits).toBeUndefined();
      for (const name of ['last_hidden_state', 'encoder_last_hidden_state']) {
        expect(compareArrays(out[name].data as Float32Array, c.expected.get(name)?.data as Float32Array, c.atol, c.rtol).ok, name).toBe(
          true,
        );
      }
    }
  });

  it('outputAttentions returns encoder, decoder and cross attention maps; padded keys get no weight', async () => {
    const inputs = readFixtureTensors('detr/resnet-basic-padded/input.safetensors');
    const model = await load('detr/resnet-basic-padded');
    const out = await model.run(
      { pixel_values: inputs.get('pixel_values') as Tensor, pixel_mask: inputs.get('pixel_mask') },
      { outputAttentions: true },
    );
    await model.dispose();
    // 128x160 → 4x5 = 20 tokens; image 2 (96x112) keeps 3 rows x 4 columns.
    expect(out.encoder_attentions_0.shape).toEqual([2, 2, 20, 20]);
    expect(out.decoder_attentions_1.shape).toEqual([2, 2, 10, 10]);
    expect(out.cross_attentions_1.shape).toEqual([2, 2, 10, 20]);
    const cross = out.cross_attentions_0.data as Float32Array;
    const rowsPerImage = 2 * 10;
    for (let row = 0; row < 2 * rowsPerImage; row++) {
      const probs = cross.subarray(row * 20, row * 20 + 20);
      expect(probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      if (row >= rowsPerImage) probs.forEach((p, key) => (Math.floor(key / 5) >= 3 || key % 5 >= 4 ? expect(p).toBe(0) : undefined));
    }
    // The same logits as without attention maps (the reference kernel is used for those layers).
    const expected = readFixtureTensors('detr/resnet-basic-padded/expected.safetensors').get('logits') as Tensor;
    expect(compareArrays(out.logits.data as Float32Array, expected.data as Float32Array, 1e-4, 1e-3).ok).toBe(true);
  });
});

describe('backbone description', () => {
  it('reads timm and HF ResNets from the weights: bottleneck/basic blocks, channels, shortcuts', async () => {
    const timm = await loadPretrained(fixturePath('detr/timm-resnet50-tiny'));
    const t = readBackboneSpec(timm.config, timm.weights.scoped(`model.${BACKBONE_SCOPE}`));
    expect(t.naming).toBe('timm');
    expect(t.stages.map((s) => s.length)).toEqual([1, 1, 1, 1]);
    expect(t.stages[0][0].convs).toHaveLength(3);
    expect(t.stages.map((s) => s[0].convs[1].stride)).toEqual([1, 2, 2, 2]);
    expect(t.channels).toBe(128);

    const hf = await loadPretrained(fixturePath('detr/resnet-basic'));
    const h = readBackboneSpec(hf.config, hf.weights.scoped(`model.${BACKBONE_SCOPE}`));
    expect(h.naming).toBe('hf');
    expect(h.stages[0][0].convs).toHaveLength(2);
    expect(h.stages[0][0].shortcut).toBeUndefined();
    expect(h.stages.slice(1).every((s) => s[0].shortcut !== undefined)).toBe(true);
    expect(h.stages.map((s) => s[0].convs[0].stride)).toEqual([1, 2, 2, 2]);
    expect(h.channels).toBe(32);
  });

  it('dilation: true (DC5) dilates timm layer4 instead of striding: output stride 16', async () => {
    const files = await loadPretrained(fixturePath('detr/timm-resnet50-tiny'));
    const dc5 = withConfig(files, (c) => {
      c.dilation = true;
    });
    const spec = readBackboneSpec(dc5.config, dc5.weights.scoped(`model.${BACKBONE_SCOPE}`));
    const layer4 = spec.stages[3][0];
    expect(layer4.convs[1]).toMatchObject({ stride: 1, dilation: 1, padding: 1 }); // first block keeps the previous dilation, as timm
    expect(layer4.shortcut).toMatchObject({ stride: 1, dilation: 1, padding: 0 });
    const model = new Detr(dc5, { device: 'cpu' });
    const inputs = readFixtureTensors('detr/timm-resnet50-tiny/input.safetensors');
    const out = await model.run({ pixel_values: inputs.get('pixel_values') as Tensor, pixel_mask: inputs.get('pixel_mask') });
    await model.dispose();
    expect(out.encoder_last_hidden_state.shape).toEqual([2, (96 / 16) * (128 / 16), 32]);
    expect([...(out.pred_boxes.data as Float32Array)].every(Number.isFinite)).toBe(true);
  });
});

describe('bad checkpoints', () => {
  const cases: [string, string, (c: Record<string, unknown>) => void, string][] = [
    ['timm backbone without a name', 'detr/timm-resnet50-tiny', (c) => delete c.backbone, 'CONFIG_MISSING_KEY'],
    ['timm backbone that is not a ResNet', 'detr/timm-resnet50-tiny', (c) => (c.backbone = 'efficientnet_b0'), 'MODEL_TYPE_UNSUPPORTED'],
    ['HF backbone without backbone_config', 'detr/resnet-basic', (c) => delete c.backbone_config, 'CONFIG_MISSING_KEY'],
    [
      'HF backbone that is not a ResNet',
      'detr/resnet-basic',
      (c) => ((c.backbone_config as Record<string, unknown>).model_type = 'convnext'),
      'MODEL_TYPE_UNSUPPORTED',
    ],
    [
      'HF ResNet without depths',
      'detr/resnet-basic',
      (c) => delete (c.backbone_config as Record<string, unknown>).depths,
      'CONFIG_MISSING_KEY',
    ],
    ['learned position embeddings', 'detr/resnet-basic', (c) => (c.position_embedding_type = 'learned'), 'MODEL_TYPE_UNSUPPORTED'],
    [
      'another architecture',
      'detr/resnet-basic',
      (c) => (c.architectures = ['ConditionalDetrForObjectDetection']),
      'MODEL_TYPE_UNSUPPORTED',
    ],
    // A detection checkpoint has no detr.model.* nor mask head: refused by name, not mis-built.
    [
      'DetrForSegmentation on detection weights',
      'detr/resnet-basic',
      (c) => (c.architectures = ['DetrForSegmentation']),
      'WEIGHTS_MISSING_TENSOR',
    ],
    ['missing d_model', 'detr/resnet-basic', (c) => delete c.d_model, 'CONFIG_MISSING_KEY'],
  ];
  it.each(cases)('%s → %s', async (_name, id, edit, code) => {
    const files = await loadPretrained(fixturePath(id));
    expect(() => new Detr(withConfig(files, edit), { device: 'cpu' })).toThrowError(expect.objectContaining({ code }));
  });

  it('timm ResNet variants with unknown block keys are refused, not mis-built', async () => {
    const files = await loadPretrained(fixturePath('detr/timm-resnet50-tiny'));
    const tensors = new Map(files.weights.keys().map((k) => [k, files.weights.get(k)] as const));
    tensors.set('model.backbone.conv_encoder.model.layer2.0.se.fc1.weight', Tensor.zeros('float32', [4, 64, 1, 1]));
    const { WeightStore } = await import('@vitkit/core/internal');
    expect(() => new Detr({ ...files, weights: new WeightStore(tensors) }, { device: 'cpu' })).toThrowError(
      expect.objectContaining({ code: 'MODEL_TYPE_UNSUPPORTED' }),
    );
  });
});

describe('detect', () => {
  it('image → DetrImageProcessor → model → boxes in original pixels, with id2label names', async () => {
    const model = await load('detr/resnet-basic');
    const image = fixturePath('preprocess/images/cats.png');
    const [detections] = await model.detect(image, { threshold: 0 });
    expect(detections).toHaveLength(10);
    for (const d of detections) {
      expect(d.label).toBe(`class_${d.labelId}`);
      expect(d.box.every(Number.isFinite)).toBe(true);
    }
    // Same as preprocessing by hand and post-processing to the 640x480 original.
    const { createImageProcessor } = await import('@vitkit/core');
    const inputs = await createImageProcessor(model.files.preprocessorConfig as never).process(image);
    expect(inputs.pixel_values.shape).toEqual([1, 3, 800, 1066]);
    const [byHand] = await model.detectPixels(inputs.pixel_values, inputs.pixel_mask, { threshold: 0, targetSizes: [[480, 640]] });
    expect(detections).toEqual(byHand);
    await model.dispose();
  });
});

describe('Detr.segment on a DetrForSegmentation checkpoint', () => {
  const CATS = fixturePath('preprocess/images/cats.png');
  const SYNTHETIC = fixturePath('preprocess/images/synthetic_97x61.png');

  it.each(['panoptic', 'instance', 'semantic'] as const)('%s: maps at each original size, segments named and counted', async (task) => {
    const model = await load('detr_panoptic/resnet-basic');
    try {
      const results = await model.segment([CATS, SYNTHETIC], { task, threshold: 0.3 });
      expect(results.map((r) => r.segmentation.shape)).toEqual([
        [480, 640],
        [61, 97],
      ]);
      for (const r of results) {
        expect(r.task).toBe(task);
        const map = r.segmentation.data as Int32Array;
        for (const s of r.segments) {
          expect(s.label).toBe(model.spec.id2label?.[s.labelId]);
          expect(s.area).toBe(map.filter((v) => v === s.id).length);
          if (task !== 'semantic') expect(s.score).toBeGreaterThan(0.3);
        }
        if (task === 'semantic') expect(r.segments.reduce((n, s) => n + s.area, 0)).toBe(map.length);
      }
      expect(results[0].segments.length, 'segments on the photo').toBeGreaterThan(0);
      // Each image runs on its own (no padding): the same result as segmenting it alone.
      const [alone] = await model.segment(SYNTHETIC, { task, threshold: 0.3 });
      expect(Array.from(alone.segmentation.data)).toEqual(Array.from(results[1].segmentation.data));
      expect(alone.segments).toEqual(results[1].segments);
    } finally {
      await model.dispose();
    }
  });

  it('refuses a detection checkpoint, an unknown task and thresholds outside 0..1', async () => {
    const detection = await load('detr/resnet-basic');
    const segmentation = await load('detr_panoptic/resnet-basic');
    try {
      await expect(detection.segment(CATS)).rejects.toMatchObject({ code: 'MODEL_TYPE_UNSUPPORTED' });
      await expect(segmentation.segment(CATS, { task: 'depth' as 'panoptic' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(segmentation.segment(CATS, { maskThreshold: 1.5 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    } finally {
      await detection.dispose();
      await segmentation.dispose();
    }
  });
});
