import { compareArrays, readFixtureJson, readFixtureTensors, testDevices } from '@vitkit/test-support';
import { describe, expect, it } from 'vitest';
import { ModelSession } from '../runtime/model-session.js';
import { WeightStore } from '../weights/weight-store.js';
import { encoderBlock } from './blocks.js';
import { GraphBuilder } from './graph-builder.js';
import { readEncoderLayer } from './hf-encoder-layer.js';

// One ViT encoder layer built from the vit/dino-attentions checkpoint must map the reference
// hidden_states_0 (embeddings) to hidden_states_1, on every backend that runs here.
const CASE = 'vit/dino-attentions';

describe.each(testDevices())('ViT encoder layer on %s', (device) => {
  it.each(['reference', 'fused'] as const)('%s attention: hidden_states_0 → hidden_states_1 within 1e-4', async (kernel) => {
    const config = readFixtureJson<{ hidden_size: number; num_attention_heads: number; layer_norm_eps: number }>(`${CASE}/config.json`);
    const weights = new WeightStore(readFixtureTensors(`${CASE}/model.safetensors`), CASE);
    const expected = readFixtureTensors(`${CASE}/expected.safetensors`);
    const h0 = expected.get('hidden_states_0')!;
    const h1 = expected.get('hidden_states_1')!;

    const g = new GraphBuilder({ attentionKernel: kernel });
    const x = g.input('hidden', 'float32', ['batch', h0.shape[1], config.hidden_size]);
    const { hidden } = encoderBlock(
      g,
      x,
      readEncoderLayer(weights, 'encoder.layer.0.', config.hidden_size, { naming: 'vit', ffn: 'mlp' }),
      {
        numHeads: config.num_attention_heads,
        eps: config.layer_norm_eps,
      },
    );
    g.output(hidden, 'out');
    const session = await ModelSession.create(g.toModelProto(), { device });
    const { out } = await session.run({ hidden: h0 });
    await session.dispose();
    const cmp = compareArrays(out.data as Float32Array, h1.data as Float32Array, 1e-4);
    expect(out.shape).toEqual(h1.shape);
    expect(cmp.maxAbs).toBeLessThanOrEqual(1e-4);
  });
});

describe('readEncoderLayer with DINOv3 names', () => {
  const GATED = 'dinov3/gated-mlp';
  const weights = new WeightStore(readFixtureTensors(`${GATED}/model.safetensors`), GATED);
  const biases = { query: true, key: false, value: true, proj: true, mlp: true };

  it('reads q/k/v/o_proj, the gated MLP and both layer scales, biases as config.json switches them', () => {
    const layer = readEncoderLayer(weights, 'layer.0.', 32, { naming: 'dinov3', ffn: 'gated', act: 'silu', biases });
    expect(layer.key.bias).toBeUndefined();
    expect(layer.query.bias?.shape).toEqual([32]);
    expect(layer.ffn.kind).toBe('gated');
    if (layer.ffn.kind === 'gated') {
      expect([layer.ffn.gate.weight.shape, layer.ffn.up.weight.shape, layer.ffn.down.weight.shape]).toEqual([
        [48, 32],
        [48, 32],
        [32, 48],
      ]);
      expect(layer.ffn.act).toBe('silu');
    }
    expect(layer.layerScale1?.shape).toEqual([32]);
    expect(layer.layerScale2?.shape).toEqual([32]);
  });

  it('names the tensor a switched-on bias lacks, and refuses a gated MLP under other names', () => {
    expect(() => readEncoderLayer(weights, 'layer.0.', 32, { naming: 'dinov3', ffn: 'gated', biases: { ...biases, key: true } })).toThrow(
      expect.objectContaining({ code: 'WEIGHTS_MISSING_TENSOR', message: expect.stringContaining('layer.0.attention.k_proj.bias') }),
    );
    expect(() => readEncoderLayer(weights, 'layer.0.', 32, { naming: 'dinov2', ffn: 'gated' })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});
