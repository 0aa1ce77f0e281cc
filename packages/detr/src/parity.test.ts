import { loadPretrained, type Tensor } from '@vitkit/core';
import { compareArrays, fixturePath, listModelCases, testDevices } from '@vitkit/test-support';
import { describe, expect, it } from 'vitest';
import { Detr } from './detr-model.js';

// One test per fixture case and device: every output in expected.safetensors, within the case's atol/rtol.
const CASES = listModelCases(['detr']);

describe.each(testDevices())('DETR parity on %s', (device) => {
  it.each(CASES.map((c) => [c.id, c] as const))('%s', async (_id, c) => {
    const model = new Detr(await loadPretrained(fixturePath(c.id)), { device });
    expect(model.architecture).toBe(c.modelClass);
    const outputs = await model.run(
      { pixel_values: c.inputs.get('pixel_values') as Tensor, pixel_mask: c.inputs.get('pixel_mask') },
      { outputHiddenStates: c.outputHiddenStates, outputAttentions: c.outputAttentions },
    );
    await model.dispose();
    const report: string[] = [];
    for (const [name, expected] of c.expected) {
      const actual = outputs[name];
      expect(actual, `output ${name}`).toBeDefined();
      expect(actual.shape, `shape of ${name}`).toEqual(expected.shape);
      const cmp = compareArrays(actual.data as Float32Array, expected.data as Float32Array, c.atol, c.rtol);
      report.push(`${name} ${cmp.maxAbs.toExponential(2)}`);
      expect(cmp.ok, `${name}: max |diff| ${cmp.maxAbs.toExponential(2)} exceeds atol ${c.atol} + rtol ${c.rtol}`).toBe(true);
    }
    if (process.env.VITKIT_REPORT) console.log(`[${device}] ${c.id}: ${report.join(', ')}`);
  });
});
