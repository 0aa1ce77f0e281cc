import { GraphBuilder, loadPretrained, ModelSession, Tensor } from '@vitkit/core/internal';
import { compareArrays, fixturePath, listModelCases, readFixtureTensors, testDevices } from '@vitkit/test-support';
import { afterAll, describe, expect, it } from 'vitest';
import { DinoModel, Dinov2, Dinov3 } from './dino-model.js';
import { ropeRotation, ropeTables } from './rope.js';

const CASES = listModelCases().filter((c) => c.modelClass === 'DINOv3ViTModel');
const CATS = fixturePath('preprocess/images/cats.png');
const models: DinoModel[] = [];
afterAll(async () => {
  for (const m of models) await m.dispose();
});

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

it('has the three DINOv3 cases', () =>
  expect(CASES.map((c) => c.id).sort()).toEqual(['dinov3/default-res', 'dinov3/gated-mlp', 'dinov3/nonsquare']));

// The contract test runs the cases with attentions, hence on the reference kernel; embed() and
// run() without them take the fused one (the default on every device), held here to the same reference.
describe.each(testDevices())('DINOv3 fused and reference attention on %s', (device) => {
  // SwiftShader's webgpu is slow: one case there, as the contract test does.
  it.each((device === 'webgpu' ? CASES.slice(-1) : CASES).map((c) => [c.id, c] as const))(
    '%s: both kernels reproduce the reference and agree',
    async (id, c) => {
      const pixels = c.inputs.get('pixel_values')!;
      const [, , h, w] = pixels.shape;
      const outputs: Record<string, Tensor>[] = [];
      for (const attentionKernel of ['fused', 'reference'] as const) {
        const model = new DinoModel(await loadPretrained(fixturePath(id)), { device, attentionKernel });
        models.push(model);
        // The rotation happens before the kernel: the fused graph keeps one MultiHeadAttention per layer.
        const mha = model.graphFor(h, w).opCounts().get('MultiHeadAttention') ?? 0;
        expect(mha).toBe(attentionKernel === 'fused' ? model.spec.layers : 0);
        const out = await model.run({ pixel_values: pixels }, { outputHiddenStates: true });
        for (const name of ['last_hidden_state', 'pooler_output', 'hidden_states_1', 'hidden_states_2']) {
          const cmp = compareArrays(out[name].data as Float32Array, c.expected.get(name)!.data as Float32Array, c.atol, c.rtol);
          expect(cmp.ok, `${attentionKernel}: ${name} max |diff| ${cmp.maxAbs}`).toBe(true);
        }
        outputs.push(out);
      }
      expect(maxDiff(outputs[0].last_hidden_state.data as Float32Array, outputs[1].last_hidden_state.data as Float32Array)).toBeLessThan(
        1e-5,
      );
    },
  );
});

describe('DINOv3 rotary embedding', () => {
  const grid = { prefixTokens: 3, gridH: 2, gridW: 3, heads: 2, headDim: 8, theta: 100 };

  it('leaves prefix tokens alone and matches q·cos + rotate_half(q)·sin on the patches', async () => {
    const { cos, sin } = ropeTables(grid);
    const c = grid.heads * grid.headDim;
    const tokens = grid.prefixTokens + grid.gridH * grid.gridW;
    expect(Array.from(cos.subarray(0, 3 * c)).every((v) => v === 1)).toBe(true);
    expect(Array.from(sin.subarray(0, 3 * c)).every((v) => v === 0)).toBe(true);

    // The graph rotation against the formula spelled out per head, angles computed here in float64.
    const q = Float32Array.from({ length: tokens * c }, (_, i) => Math.sin(i * 1.7) + 0.1 * i);
    const g = new GraphBuilder();
    const x = g.input('q', 'float32', [1, tokens, c]);
    const rotated = ropeRotation(g, grid)(g, x, x);
    g.output(rotated.q, 'out');
    const session = await ModelSession.create(g.toModelProto(), { device: 'cpu' });
    const out = (await session.run({ q: new Tensor('float32', q, [1, tokens, c]) })).out.data as Float32Array;
    await session.dispose();

    const expected = Float32Array.from(q);
    const freqs = [0, 1].map((i) => 1 / 100 ** ((4 * i) / grid.headDim));
    for (let p = 0; p < grid.gridH * grid.gridW; p++) {
      const [y, xx] = [Math.floor(p / grid.gridW), p % grid.gridW];
      const coords = [((y + 0.5) / grid.gridH) * 2 - 1, ((xx + 0.5) / grid.gridW) * 2 - 1];
      const half = coords.flatMap((co) => freqs.map((f) => 2 * Math.PI * co * f)); // [y f0, y f1, x f0, x f1]
      const angles = [...half, ...half];
      const row = (grid.prefixTokens + p) * c;
      for (let h = 0; h < grid.heads; h++) {
        const base = row + h * grid.headDim;
        for (let j = 0; j < grid.headDim; j++) {
          const other = j < 4 ? -q[base + j + 4] : q[base + j - 4];
          expected[base + j] = q[base + j] * Math.cos(angles[j]) + other * Math.sin(angles[j]);
        }
      }
    }
    expect(maxDiff(out, expected)).toBeLessThan(1e-5);
    expect(maxDiff(out.subarray(0, 3 * c), q.subarray(0, 3 * c))).toBe(0);
  });
});

describe('Dinov3', () => {
  const id = 'dinov3/default-res';

  it('embed() splits [CLS, registers, patches] as the reference lays them out; pooled is the CLS', async () => {
    const model = await Dinov3.fromPretrained(fixturePath(id), { device: 'cpu' });
    models.push(model);
    expect(model.architecture).toBe('DINOv3ViTModel');
    const input = readFixtureTensors(`${id}/input.safetensors`).get('pixel_values')!;
    const e = readFixtureTensors(`${id}/expected.safetensors`).get('last_hidden_state')!.data as Float32Array;
    const { cls, registers, patches, pooled } = await model.embed(input);
    expect(cls.shape).toEqual([1, 32]);
    expect(registers!.shape).toEqual([1, 4, 32]);
    expect(patches.shape).toEqual([1, 4, 4, 32]);
    expect(maxDiff(cls.data, e.subarray(0, 32))).toBeLessThan(1e-4);
    expect(maxDiff(registers!.data, e.subarray(32, 5 * 32))).toBeLessThan(1e-4);
    expect(maxDiff(patches.data, e.subarray(5 * 32))).toBeLessThan(1e-4);
    expect(maxDiff(pooled!.data, cls.data)).toBe(0);
    // A batch of two: the rotary tables broadcast over the batch, each image as if alone.
    const two = new Tensor('float32', new Float32Array([...input.data, ...input.data] as number[]), [2, ...input.shape.slice(1)]);
    const pair = await model.embed(two);
    expect(pair.patches.shape).toEqual([2, 4, 4, 32]);
    expect(maxDiff(pair.patches.data.subarray(4 * 4 * 32), patches.data)).toBeLessThan(1e-5);
    expect(maxDiff(pair.cls.data.subarray(0, 32), cls.data)).toBeLessThan(1e-5);
  });

  it('attentionMaps() reads CLS→patch attention after the registers', async () => {
    const model = await Dinov3.fromPretrained(fixturePath(id), { device: 'cpu' });
    models.push(model);
    const input = readFixtureTensors(`${id}/input.safetensors`).get('pixel_values')!;
    const last = readFixtureTensors(`${id}/expected.safetensors`).get('attentions_last')! as Tensor<'float32'>;
    const { maps } = await model.attentionMaps(input);
    expect(maps.shape).toEqual([2, 4, 4]);
    const t = last.shape[2];
    for (let h = 0; h < 2; h++) {
      expect(maxDiff(maps.data.subarray(h * 16, (h + 1) * 16), last.data.subarray(h * t * t + 5, h * t * t + t))).toBeLessThan(1e-4);
    }
  });

  it('preprocesses an image file with DINOv3ViTImageProcessorFast by default (224x224, no crop), and pcaImage works', async () => {
    const model = await Dinov3.fromPretrained(fixturePath(id), { device: 'cpu' });
    models.push(model);
    expect(model.imageProcessor.type).toBe('DINOv3ViTImageProcessorFast');
    const { patches } = await model.embed(CATS);
    expect(patches.shape).toEqual([1, 28, 28, 32]);
    const pca = await model.pcaImage(CATS);
    expect([pca.width, pca.height]).toEqual([224, 224]);
  });

  it('Dinov2 refuses a DINOv3 checkpoint and Dinov3 a DINOv2 one, naming the class to use', async () => {
    await expect(Dinov2.fromPretrained(fixturePath(id))).rejects.toMatchObject({
      code: 'MODEL_TYPE_UNSUPPORTED',
      message: expect.stringContaining('Use Dinov3'),
    });
    await expect(Dinov3.fromPretrained(fixturePath('dinov2/default-res'))).rejects.toMatchObject({
      code: 'MODEL_TYPE_UNSUPPORTED',
      message: expect.stringContaining('Use Dinov2'),
    });
  });

  it('refuses a hidden_act it does not build and a head size the rotary embedding cannot split', async () => {
    const files = await loadPretrained(fixturePath(id));
    expect(() => new DinoModel({ ...files, config: { ...files.config, hidden_act: 'relu' } })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
    expect(() => new DinoModel({ ...files, config: { ...files.config, num_attention_heads: 16 } })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
  });
});
