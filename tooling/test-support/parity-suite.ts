import { describe, expect, it } from 'vitest';
import { loadPretrained, type PretrainedFiles } from '../../packages/core/src/hub/load-pretrained.js';
import type { ModelOptions, VisionModel } from '../../packages/core/src/model/vision-model.js';
import type { Tensor } from '../../packages/core/src/tensor/tensor.js';
import { compareArrays, testDevices } from './devices.js';
import { fixturePath } from './fixtures.js';
import { listModelCases } from './parity.js';

/**
 * The contract every family passes, as timm runs one test over every registered model: for each
 * fixture case of `families` and each device here, every output in expected.safetensors within the
 * case's atol/rtol. A new fixture case is tested without writing a test.
 * `VITKIT_REPORT_ERRORS=1` prints the max |diff| of every output.
 */
export function describeFixtureParity(
  title: string,
  families: readonly string[],
  create: (files: PretrainedFiles, options: ModelOptions) => VisionModel,
): void {
  const cases = listModelCases(families);
  describe.each(testDevices())(`${title} parity on %s`, (device) => {
    it('has fixture cases', () => expect(cases.length).toBeGreaterThan(0));
    it.each(cases.map((c) => [c.id, c] as const))('%s', async (_id, c) => {
      const model = create(await loadPretrained(fixturePath(c.id)), { device });
      expect(model.architecture).toBe(c.modelClass);
      let outputs: Record<string, Tensor>;
      try {
        outputs = await model.run(
          { pixel_values: c.inputs.get('pixel_values') as Tensor, pixel_mask: c.inputs.get('pixel_mask') },
          { outputHiddenStates: c.outputHiddenStates, outputAttentions: c.outputAttentions },
        );
      } finally {
        await model.dispose();
      }
      for (const [name, expected] of c.expected) {
        const actual = outputs[name];
        expect(actual, `output ${name}`).toBeDefined();
        expect(actual.shape, `shape of ${name}`).toEqual(expected.shape);
        const cmp = compareArrays(actual.data as Float32Array, expected.data as Float32Array, c.atol, c.rtol);
        if (process.env.VITKIT_REPORT_ERRORS) console.log(`[max-error] ${device} ${c.id} ${name} ${cmp.maxAbs.toExponential(2)}`);
        expect(cmp.ok, `${name}: max |diff| ${cmp.maxAbs.toExponential(2)} exceeds atol ${c.atol} + rtol ${c.rtol}`).toBe(true);
      }
    });
  });
}
