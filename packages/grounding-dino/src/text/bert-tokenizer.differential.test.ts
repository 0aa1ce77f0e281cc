import { Tokenizer } from '@huggingface/tokenizers';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BertTokenizer } from './bert-tokenizer.js';

// A second, independent implementation to compare with: Tokenizers.js, a port of the Rust
// `tokenizers` BERT pipeline (BertNormalizer, BertPreTokenizer, WordPiece). It is not used for
// tokenizing because it departs from transformers' slow BertTokenizer (the fixture's reference) on
// CJK ideographs outside the BMP (it scans UTF-16 units), unassigned code points (kept, the slow one
// drops every C* category) and decomposed accents (no NFC step). Texts here avoid those three;
// everywhere else the two must agree exactly, ids and decoded text.

const VOCAB = [
  '[PAD]',
  '[UNK]',
  '[CLS]',
  '[SEP]',
  '[MASK]',
  'a',
  'cat',
  '##s',
  'un',
  '##aff',
  '##able',
  'hello',
  'world',
  '!',
  ',',
  '.',
  '?',
];
VOCAB.push(
  '$',
  '^',
  '`',
  '[',
  ']',
  'cafe',
  'café',
  'naive',
  '你',
  '好',
  'x',
  '##x',
  "'",
  'don',
  't',
  'i',
  '«',
  '»',
  'sep',
  '##a',
  '##t',
  'c',
  'e',
  '##e',
);
const SPECIAL = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

function tokenizersJs(stripAccents: boolean | null, lowercase: boolean) {
  const vocab = Object.fromEntries(VOCAB.map((token, id) => [token, id]));
  const specialToken = (id: string) => ({ SpecialToken: { id, type_id: 0 } });
  return new Tokenizer(
    {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: SPECIAL.map((content) => ({
        id: vocab[content],
        content,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      })),
      normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: stripAccents, lowercase },
      pre_tokenizer: { type: 'BertPreTokenizer' },
      post_processor: {
        type: 'TemplateProcessing',
        single: [specialToken('[CLS]'), { Sequence: { id: 'A', type_id: 0 } }, specialToken('[SEP]')],
        pair: [],
        special_tokens: {
          '[CLS]': { id: '[CLS]', ids: [vocab['[CLS]']], tokens: ['[CLS]'] },
          '[SEP]': { id: '[SEP]', ids: [vocab['[SEP]']], tokens: ['[SEP]'] },
        },
      },
      decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
      model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
    },
    {},
  );
}

const pieces = fc.constantFrom(
  ...['a', 'cat', 'cats', 'Hello', 'WORLD', 'unaffable', 'x', 'xxx', "'", 'don', 'sep', '[SEP]', '[CLS]', 'café', 'Café', 'naïve'],
  ...[' ', '  ', '\t', '\n', '\r\n', '\u00a0', '\u3000', '!', ',', '.', '?', '$', '^', '`', '[', ']', '«', '»', '—', '©', '¿'],
  ...['你', '好', 'é', 'e', 'ß', 'Σ', 'ñ', 'İ', '\u200b', '\u0007', '\u0000'],
);

describe('BertTokenizer agrees with Tokenizers.js on BERT texts (property test)', () => {
  const settings: [string, boolean | null, boolean][] = [
    ['uncased (strip_accents unset)', null, true],
    ['uncased, accents kept', false, true],
    ['cased, accents stripped', true, false],
    ['cased', null, false],
  ];
  for (const [name, stripAccents, lowercase] of settings) {
    it(`${name}: same ids and same decoded text`, () => {
      const reference = tokenizersJs(stripAccents, lowercase);
      const tokenizer = BertTokenizer.fromVocab(VOCAB.join('\n'), { do_lower_case: lowercase, strip_accents: stripAccents });
      fc.assert(
        fc.property(fc.array(pieces, { maxLength: 12 }), (list) => {
          const text = list.join('');
          const ids = tokenizer.encode(text);
          expect(ids).toEqual(reference.encode(text).ids);
          expect(tokenizer.decode(ids)).toBe(reference.decode(ids, { skip_special_tokens: false }));
        }),
        { numRuns: 500 },
      );
    });
  }
});
