import { loadPretrained } from '@vitkit/core';
import { compareArrays, fixturePath, readFixtureTensors } from '@vitkit/test-support';
import { describe, expect, it } from 'vitest';
import { GroundingDinoModel } from './grounding-dino-model.js';

const CASE = 'grounding_dino/swin-bert-tiny';

describe('GroundingDinoForObjectDetection on the swin-bert-tiny fixture', () => {
  it.each(['cpu', 'wasm'] as const)('matches transformers on %s, every output', async (device) => {
    const model = new GroundingDinoModel(await loadPretrained(fixturePath(CASE)), { device });
    try {
      const inputs = Object.fromEntries(readFixtureTensors(`${CASE}/input.safetensors`));
      const outputs = await model.run(inputs);
      const expected = readFixtureTensors(`${CASE}/expected.safetensors`);
      const failures: string[] = [];
      for (const [name, want] of expected) {
        const got = outputs[name];
        expect(got?.shape, name).toEqual(want.shape);
        const cmp = compareArrays(got.data as Float32Array, want.data as Float32Array, 1e-4, 1e-3);
        if (process.env.VITKIT_REPORT_ERRORS) console.log(`[max-error] ${device} ${name} ${cmp.maxAbs.toExponential(2)}`);
        if (!cmp.ok) failures.push(`${name}: max |diff| ${cmp.maxAbs.toExponential(2)} (first bad ${cmp.firstBad})`);
      }
      expect(failures).toEqual([]);
    } finally {
      await model.dispose();
    }
  });
});
