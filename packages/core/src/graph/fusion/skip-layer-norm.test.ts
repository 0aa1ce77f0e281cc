import { compareArrays, randomArray, seededRandom, testDevices } from '@vitkit/test-support';
import { describe, expect, it } from 'vitest';
import { ModelSession } from '../../runtime/model-session.js';
import { Tensor } from '../../tensor/tensor.js';
import { type EncoderBlockWeights, encoderBlock, norm } from '../blocks.js';
import { GraphBuilder } from '../graph-builder.js';
import { onnx } from '../onnx-proto.js';

function block(seed: number, c: number): EncoderBlockWeights {
  const r = seededRandom(seed);
  const vec = (n: number, std: number, mean = 0) =>
    new Tensor(
      'float32',
      Float32Array.from({ length: n }, () => mean + std * r()),
      [n],
    );
  const lin = (o: number, i: number) => ({
    weight: new Tensor(
      'float32',
      Float32Array.from({ length: o * i }, () => r() / Math.sqrt(i)),
      [o, i],
    ),
    bias: vec(o, 0.1),
  });
  return {
    norm1: { weight: vec(c, 0.1, 1), bias: vec(c, 0.1) },
    query: lin(c, c),
    key: lin(c, c),
    value: lin(c, c),
    attnOut: lin(c, c),
    norm2: { weight: vec(c, 0.1, 1), bias: vec(c, 0.1) },
    ffn: { kind: 'mlp', fc1: lin(4 * c, c), fc2: lin(c, 4 * c) },
    layerScale1: vec(c, 0.1, 0.5),
  };
}

describe.each(testDevices())('SkipLayerNormalization fusion on %s', (device) => {
  it('fuses every residual Add + LayerNorm of a pre-norm stack, keeps the residual stream, same outputs', async () => {
    const c = 32;
    const g = new GraphBuilder({ attentionKernel: 'fused' });
    let x = g.input('x', 'float32', ['batch', 9, c]);
    const hidden: string[] = [];
    for (let i = 0; i < 3; i++) {
      x = encoderBlock(g, x, block(i + 1, c), { numHeads: 4, eps: 1e-6 }).hidden;
      hidden.push(x.name);
    }
    g.output(x, 'hidden_3'); // a residual sum that is also a graph output
    g.output(norm(g, x, { weight: Tensor.fromFloat32(new Float32Array(c).fill(1), [c]), bias: Tensor.zeros('float32', [c]) }, 1e-6), 'out');

    const fused = g.toModelProto({ fusions: true });
    const ops = onnx.ModelProto.decode(fused).graph?.node?.map((n) => n.opType) ?? [];
    // 3 blocks x 2 norms (the first block's norm1 reads the graph input, not an Add) + the final norm.
    expect(ops.filter((o) => o === 'SkipLayerNormalization').length).toBe(6);
    expect(ops.filter((o) => o === 'LayerNormalization').length).toBe(1);

    const feeds = { x: new Tensor('float32', randomArray(2 * 9 * c, 7), [2, 9, c]) };
    const results = [];
    for (const model of [g.toModelProto(), fused]) {
      const s = await ModelSession.create(model, { device });
      results.push(await s.run(feeds));
      await s.dispose();
    }
    for (const name of ['out', 'hidden_3']) {
      const cmp = compareArrays(results[1][name].data as Float32Array, results[0][name].data as Float32Array, 1e-4);
      expect(cmp.maxAbs, name).toBeLessThanOrEqual(1e-4);
    }
  });
});
