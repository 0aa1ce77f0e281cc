import { readFileSync } from 'node:fs';
import { loadPretrained, Tensor } from '@vitkit/core';
import { compareArrays, editCheckpoint, fixturePath, readFixtureJson, readFixtureTensors } from '@vitkit/test-support';
import { describe, expect, it } from 'vitest';
import { GroundingDino } from './grounding-dino-model.js';
import { postProcessGroundedObjectDetection } from './postprocess/grounded-detection.js';
import { BertTokenizer, type BertTokenizerConfig } from './text/bert-tokenizer.js';

const CASE = 'grounding_dino/swin-bert-tiny';

describe('GroundingDinoForObjectDetection on the swin-bert-tiny fixture', () => {
  it.each(['cpu', 'wasm'] as const)('matches transformers on %s, every output', async (device) => {
    const model = new GroundingDino(await loadPretrained(fixturePath(CASE)), { device });
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
    const model = new GroundingDino(await loadPretrained(fixturePath(CASE)), { device: 'cpu' });
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

  it('returns the hidden-state tuples when asked (the last of each is its top-level output) and refuses outputAttentions', async () => {
    const model = new GroundingDino(await loadPretrained(fixturePath(CASE)), { device: 'cpu' });
    try {
      const inputs = Object.fromEntries(readFixtureTensors(`${CASE}/input.safetensors`));
      const out = await model.run(inputs, { outputHiddenStates: true });
      const count = (prefix: string) => Object.keys(out).filter((k) => k.startsWith(prefix)).length;
      expect([count('encoder_vision_hidden_states_'), count('encoder_text_hidden_states_'), count('decoder_hidden_states_')]).toEqual([
        2, 2, 3,
      ]);
      expect(out.encoder_vision_hidden_states_1.data).toEqual(out.encoder_last_hidden_state_vision.data);
      expect(out.encoder_text_hidden_states_1.data).toEqual(out.encoder_last_hidden_state_text.data);
      expect(out.decoder_hidden_states_2.data).toEqual(out.last_hidden_state.data);
      // decoder_hidden_states_1 is layer 1's input after the layer norm: intermediate_hidden_states[:, 0].
      const [b, layers, q, d] = out.intermediate_hidden_states.shape;
      const first = new Float32Array(b * q * d);
      for (let i = 0; i < b; i++)
        first.set(out.intermediate_hidden_states.data.subarray(i * layers * q * d, (i * layers + 1) * q * d) as Float32Array, i * q * d);
      expect(out.decoder_hidden_states_1.data).toEqual(first);
      await expect(model.run(inputs, { outputAttentions: true })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    } finally {
      await model.dispose();
    }
  });

  it("through post-processing reproduces expected_postprocess.json from the model's own outputs (both threshold pairs)", async () => {
    const model = new GroundingDino(await loadPretrained(fixturePath(CASE)), { device: 'cpu' });
    try {
      const inputs = readFixtureTensors(`${CASE}/input.safetensors`);
      const outputs = await model.run(Object.fromEntries(inputs));
      const tokenizer = BertTokenizer.fromVocab(
        readFileSync(fixturePath(`${CASE}/vocab.txt`), 'utf8'),
        readFixtureJson<BertTokenizerConfig>(`${CASE}/tokenizer_config.json`),
      );
      type Image = { scores: number[]; boxes: number[][]; text_labels: string[] };
      const expected = readFixtureJson<Record<string, unknown> & { target_sizes: [number, number][] }>(`${CASE}/expected_postprocess.json`);
      for (const [threshold, textThreshold] of [
        [0, 0.25],
        [0.45, 0.4],
      ]) {
        const want = expected[`threshold_${threshold.toFixed(threshold === 0 ? 1 : 2)}_text_${textThreshold}`] as Image[];
        const got = postProcessGroundedObjectDetection(
          { logits: outputs.logits, pred_boxes: outputs.pred_boxes },
          { tokenizer, inputIds: inputs.get('input_ids')!, threshold, textThreshold, targetSizes: expected.target_sizes },
        );
        got.forEach((image, b) => {
          expect(image.textLabels).toEqual(want[b].text_labels);
          expect(image.scores.length).toBe(want[b].scores.length);
          image.scores.forEach((v, i) => expect(Math.abs(v - want[b].scores[i])).toBeLessThan(1e-4));
          image.boxes.forEach((box, i) => box.forEach((v, k) => expect(Math.abs(v - want[b].boxes[i][k])).toBeLessThan(1e-3)));
        });
      }
    } finally {
      await model.dispose();
    }
  });

  it('defaults a missing pixel_mask and attention_mask to ones and token_type_ids to zeros, and refuses ids outside the vocabulary', async () => {
    const model = new GroundingDino(await loadPretrained(fixturePath(CASE)), { device: 'cpu' });
    try {
      const inputs = readFixtureTensors(`${CASE}/input.safetensors`);
      const ids = inputs.get('input_ids')!;
      const pixels = inputs.get('pixel_values')!;
      const [b, , h, w] = pixels.shape;
      const explicit = await model.run({
        pixel_values: pixels,
        pixel_mask: new Tensor('int64', new BigInt64Array(b * h * w).fill(1n), [b, h, w]),
        input_ids: ids,
        attention_mask: new Tensor('int64', new BigInt64Array(ids.size).fill(1n), ids.shape),
        token_type_ids: new Tensor('int64', new BigInt64Array(ids.size), ids.shape),
      });
      const defaulted = await model.run({ pixel_values: pixels, input_ids: ids });
      expect(defaulted.logits.data).toEqual(explicit.logits.data);
      const codeOf = (feeds: Record<string, Tensor>) =>
        model.run(feeds).then(
          () => undefined,
          (e: { code?: string }) => e.code,
        );
      const outside = BigInt64Array.from(ids.data as BigInt64Array);
      outside[3] = 1040n; // the vocabulary has 1040 entries
      expect(await codeOf({ pixel_values: pixels, input_ids: new Tensor('int64', outside, ids.shape) })).toBe('INPUT_INVALID');
      expect(await codeOf({ pixel_values: pixels, input_ids: new Tensor('int64', new BigInt64Array(0), [b, 0]) })).toBe(
        'INPUT_SHAPE_INVALID',
      );
    } finally {
      await model.dispose();
    }
  });

  it('reads the tied box heads under model.decoder.bbox_embed when the checkpoint keeps them there', async () => {
    const files = await loadPretrained(fixturePath(CASE));
    const moved = editCheckpoint(files, {
      weights: (t) => {
        for (const key of [...t.keys()].filter((k) => k.startsWith('bbox_embed.'))) {
          t.set(`model.decoder.${key}`, t.get(key)!);
          t.delete(key);
        }
      },
    });
    const inputs = Object.fromEntries(readFixtureTensors(`${CASE}/input.safetensors`));
    const [a, b] = [new GroundingDino(files, { device: 'cpu' }), new GroundingDino(moved, { device: 'cpu' })];
    try {
      expect((await b.run(inputs)).pred_boxes.data).toEqual((await a.run(inputs)).pred_boxes.data);
    } finally {
      await Promise.all([a.dispose(), b.dispose()]);
    }
  });
});
