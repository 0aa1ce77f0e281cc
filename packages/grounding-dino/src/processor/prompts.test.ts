import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readSafetensors } from '@vitkit/core';
import { describe, expect, it } from 'vitest';
import { BertTokenizer, type BertTokenizerConfig } from '../text/bert-tokenizer.js';
import { mergePhrases, promptTexts, tokenizePrompts } from './prompts.js';

const fixture = fileURLToPath(new URL('../../../../fixtures/grounding_dino/swin-bert-tiny/', import.meta.url));
const tokenizer = BertTokenizer.fromVocab(
  readFileSync(`${fixture}vocab.txt`, 'utf8'),
  JSON.parse(readFileSync(`${fixture}tokenizer_config.json`, 'utf8')) as BertTokenizerConfig,
);
const { tensors: inputs } = readSafetensors(new Uint8Array(readFileSync(`${fixture}input.safetensors`)), 'input.safetensors');

const asNumbers = (data: ArrayLike<bigint>) => Array.from(data, Number);

describe('tokenizePrompts reproduces the fixture text inputs (transformers v5.2.0)', () => {
  const variants: [string, Parameters<typeof tokenizePrompts>[1]][] = [
    ['the two prompt strings', ['a cat. a remote control.', 'a dog.']],
    ['the two prompts as lists of phrases', [['a cat', 'a remote control'], ['A Dog ']]],
  ];
  for (const [name, prompts] of variants) {
    it(`${name}: input_ids, attention_mask and token_type_ids equal input.safetensors`, () => {
      const out = tokenizePrompts(tokenizer, prompts);
      for (const key of ['input_ids', 'attention_mask', 'token_type_ids'] as const) {
        const want = inputs.get(key);
        if (!want) throw new Error(`input.safetensors lacks ${key}`);
        expect(out[key].dtype).toBe('int64');
        expect(want.dtype).toBe('int64');
        expect(out[key].shape).toEqual(want.shape);
        expect(asNumbers(out[key].data)).toEqual(asNumbers(want.data as BigInt64Array));
      }
    });
  }
});

describe('prompt texts (GroundingDinoProcessor._preprocess_input_text)', () => {
  it('merges one list of phrases into a lower-cased prompt ending with "."', () => {
    expect(mergePhrases(['A Cat', ' a dog '])).toBe('a cat. a dog.');
    expect(promptTexts(['a cat', 'a dog'])).toEqual(['a cat. a dog.']);
    expect(promptTexts(['a cat'])).toEqual(['a cat.']);
  });

  it('a list with a "." is a batch of prompts, used as given', () => {
    expect(promptTexts(['a cat.', 'a dog'])).toEqual(['a cat.', 'a dog']);
  });

  it('a string is used as given (no "." added: the reference does not add one)', () => {
    expect(promptTexts('A cat')).toEqual(['A cat']);
    expect(asNumbers(tokenizePrompts(tokenizer, 'A cat').input_ids.data)).toEqual([101, 1030, 1031, 102]);
  });

  it('a batch of phrase lists', () => {
    expect(promptTexts([['a cat', 'a remote control'], ['a dog']])).toEqual(['a cat. a remote control.', 'a dog.']);
  });

  it('refuses an empty prompt list and a mixed batch', () => {
    expect(() => promptTexts([])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => promptTexts([['a cat'], []])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => promptTexts(['a cat.', ['a dog']] as unknown as string[])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

describe('tokenizePrompts batching', () => {
  it('repeats one prompt for every image', () => {
    const out = tokenizePrompts(tokenizer, 'a dog.', { batchSize: 3 });
    expect(out.input_ids.shape).toEqual([3, 5]);
    expect(asNumbers(out.input_ids.data)).toEqual([101, 1030, 1034, 1012, 102, 101, 1030, 1034, 1012, 102, 101, 1030, 1034, 1012, 102]);
  });

  it('refuses a prompt count that is neither one nor the batch size', () => {
    expect(() => tokenizePrompts(tokenizer, ['a cat.', 'a dog.'], { batchSize: 3 })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });

  it('maxLength truncates each prompt, keeping [SEP], then pads', () => {
    const out = tokenizePrompts(tokenizer, ['a cat. a remote control.', 'a dog.'], { maxLength: 4 });
    expect(out.input_ids.shape).toEqual([2, 4]);
    expect(asNumbers(out.input_ids.data)).toEqual([101, 1030, 1031, 102, 101, 1030, 1034, 102]);
    expect(asNumbers(out.attention_mask.data)).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
  });
});
