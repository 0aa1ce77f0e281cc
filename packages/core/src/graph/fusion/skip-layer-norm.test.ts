import { compareArrays, randomArray, randomEncoderBlockWeights, testDevices } from '@vitkit/test-support';
import { describe, expect, it } from 'vitest';
import { ModelSession } from '../../runtime/model-session.js';
import { Tensor } from '../../tensor/tensor.js';
import { encoderBlock, norm } from '../blocks.js';
import { GraphBuilder } from '../graph-builder.js';
import { onnx } from '../onnx-proto.js';
import { serializeGraph } from '../serialize-graph.js';

const block = (seed: number, c: number) => randomEncoderBlockWeights(seed, c, { biasStd: 0.1, layerScale1: [0.5, 0.1] });

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

    const fused = serializeGraph(g, { fusions: true });
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
