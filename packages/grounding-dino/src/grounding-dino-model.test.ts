import { loadPretrained, Tensor } from '@vitkit/core';
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

  it('truncates a prompt longer than max_text_len (16) to its first 16 tokens, in one session for both lengths', async () => {
    const model = new GroundingDinoModel(await loadPretrained(fixturePath(CASE)), { device: 'cpu' });
    try {
      const inputs = readFixtureTensors(`${CASE}/input.safetensors`);
      // "[CLS] a . cat a . cat …" over 20 tokens; column 15 is not a special token, so the phrase
      // mask of the first 16 columns is the same whether it is built over 16 or 20.
      const row = [101, ...Array.from({ length: 18 }, (_, i) => [1030, 1012, 1031][i % 3]), 102];
      const text = (n: number) => {
        const ids = [row, row].map((r) => r.slice(0, n));
        const ones = new BigInt64Array(2 * n).fill(1n);
        return {
          input_ids: new Tensor('int64', BigInt64Array.from(ids.flat(), BigInt), [2, n]),
          attention_mask: new Tensor('int64', ones, [2, n]),
          token_type_ids: new Tensor('int64', new BigInt64Array(2 * n), [2, n]),
        };
      };
      const image = { pixel_values: inputs.get('pixel_values'), pixel_mask: inputs.get('pixel_mask') };
      const long = await model.run({ ...image, ...text(20) });
      const short = await model.run({ ...image, ...text(16) });
      expect(model.sessionCount).toBe(1);
      expect(long.logits.shape).toEqual([2, 8, 16]);
      expect(long.encoder_last_hidden_state_text.shape).toEqual([2, 16, 32]);
      for (const name of ['logits', 'pred_boxes', 'encoder_last_hidden_state_text'])
        expect(long[name].data, name).toEqual(short[name].data);
    } finally {
      await model.dispose();
    }
  });
});
