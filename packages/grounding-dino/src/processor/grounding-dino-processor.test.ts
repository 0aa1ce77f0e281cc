import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { RgbImage, readSafetensors, type Tensor } from '@vitkit/core';
import { describe, expect, it } from 'vitest';
import { GroundingDinoProcessor } from './grounding-dino-processor.js';

const fixture = fileURLToPath(new URL('../../../../fixtures/grounding_dino/swin-bert-tiny/', import.meta.url));
const json = (name: string) => JSON.parse(readFileSync(fixture + name, 'utf8'));
const processor = GroundingDinoProcessor.fromFiles({
  preprocessorConfig: json('processor_config.json'),
  vocab: readFileSync(`${fixture}vocab.txt`, 'utf8'),
  tokenizerConfig: json('tokenizer_config.json'),
});
const gray = (width: number, height: number) => new RgbImage(new Uint8Array(width * height * 3).fill(90), width, height);
const numbers = (t: Tensor) => Array.from(t.data as BigInt64Array, Number);

describe('GroundingDinoProcessor from the fixture files', () => {
  it('gives every model input for two images and their prompts, text as in input.safetensors', () => {
    const inputs = processor.processImages([gray(600, 480), gray(400, 200)], ['a cat. a remote control.', 'a dog.']);
    expect(inputs.pixel_values.shape).toEqual([2, 3, 64, 96]);
    expect(inputs.pixel_mask.shape).toEqual([2, 64, 96]);
    const { tensors } = readSafetensors(new Uint8Array(readFileSync(`${fixture}input.safetensors`)), 'input.safetensors');
    for (const key of ['input_ids', 'attention_mask', 'token_type_ids'] as const) {
      expect(numbers(inputs[key])).toEqual(numbers(tensors.get(key) as Tensor));
    }
  });

  it('repeats one prompt for every image, and makes an all-ones mask when the config does not pad', () => {
    const inputs = processor.processImages([gray(600, 480), gray(600, 480)], ['a cat', 'a dog']);
    expect(numbers(inputs.input_ids)).toEqual([101, 1030, 1031, 1012, 1030, 1034, 1012, 102, 101, 1030, 1031, 1012, 1030, 1034, 1012, 102]);
    const unpadded = GroundingDinoProcessor.fromFiles({
      preprocessorConfig: { ...json('processor_config.json').image_processor, do_pad: false },
      vocab: readFileSync(`${fixture}vocab.txt`, 'utf8'),
    });
    const single = unpadded.processImages(gray(600, 480), 'a cat.');
    expect(single.pixel_mask.shape).toEqual([1, 64, 80]);
    expect(numbers(single.pixel_mask).every((v) => v === 1)).toBe(true);
  });

  it('post-processes with its own tokenizer', () => {
    const { tensors } = readSafetensors(new Uint8Array(readFileSync(`${fixture}expected.safetensors`)), 'expected.safetensors');
    const inputIds = readSafetensors(new Uint8Array(readFileSync(`${fixture}input.safetensors`)), 'input.safetensors').tensors.get(
      'input_ids',
    ) as Tensor;
    const [, second] = processor.postProcessGroundedObjectDetection(
      { logits: tensors.get('logits') as Tensor, pred_boxes: tensors.get('pred_boxes') as Tensor },
      { inputIds, threshold: 0.45, textThreshold: 0.4 },
    );
    const want = json('expected_postprocess.json')['threshold_0.45_text_0.4'][1].text_labels;
    expect(second.textLabels).toEqual(want);
  });
});
