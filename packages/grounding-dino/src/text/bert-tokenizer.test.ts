import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BertTokenizer, type BertTokenizerConfig } from './bert-tokenizer.js';

const fixture = fileURLToPath(new URL('../../../../fixtures/grounding_dino/swin-bert-tiny/', import.meta.url));
const fixtureTokenizer = () =>
  BertTokenizer.fromVocab(
    readFileSync(`${fixture}vocab.txt`, 'utf8'),
    JSON.parse(readFileSync(`${fixture}tokenizer_config.json`, 'utf8')) as BertTokenizerConfig,
  );

// A small vocabulary; every expected tokenization below is worked out by hand from BertTokenizer's
// algorithm (clean text, CJK spacing, NFC, lower-case + strip accents, punctuation split, WordPiece).
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
  '$',
  '^',
  '`',
  '[',
  ']',
  'cafe',
  'café',
  'Cafe',
  'naive',
  '你',
  '好',
  '𠀀',
  'x',
  '##x',
  "'",
  'don',
  't',
  'i',
  '«',
  '»',
  'sep',
];
const id = (token: string) => {
  const i = VOCAB.indexOf(token);
  if (i < 0) throw new Error(`not in the test vocab: ${token}`);
  return i;
};
const vocabText = VOCAB.join('\n') + '\n';
const uncased = () => BertTokenizer.fromVocab(vocabText);

describe('BertTokenizer on the fixture (transformers v5.2.0 BertTokenizerLegacy)', () => {
  it("encodes the fixture's two prompts to its input_ids", () => {
    const tokenizer = fixtureTokenizer();
    expect(tokenizer.encode('a cat. a remote control.')).toEqual([101, 1030, 1031, 1012, 1030, 1032, 1033, 1012, 102]);
    expect(tokenizer.encode('a dog.')).toEqual([101, 1030, 1034, 1012, 102]);
    expect([tokenizer.clsTokenId, tokenizer.sepTokenId, tokenizer.padTokenId, tokenizer.unkTokenId]).toEqual([101, 102, 0, 100]);
    expect(tokenizer.size).toBe(1040);
  });

  it("decodes a phrase as the fixture's text_labels write it", () => {
    const tokenizer = fixtureTokenizer();
    expect(tokenizer.decode([1030, 1031, 1012, 1030, 1032, 1033, 1012, 102])).toBe('a cat. a remote control. [SEP]');
    expect(tokenizer.decode([1030, 1030, 1033])).toBe('a a control');
    expect(tokenizer.decode([1030, 1034, 102])).toBe('a dog [SEP]');
    expect(tokenizer.decode([1030, 1031, 1038])).toBe('a cats');
  });
});

describe('BertTokenizer basic tokenization + WordPiece (hand-derived expectations)', () => {
  const cases: [string, string, string[]][] = [
    ['punctuation splits off', 'Hello, World!', ['hello', ',', 'world', '!']],
    ['ASCII symbols count as punctuation', 'a$cat^`', ['a', '$', 'cat', '^', '`']],
    ['Unicode punctuation (Pi/Pf) splits', 'a«cat»', ['a', '«', 'cat', '»']],
    ['a non-punctuation symbol (©, So) does not split, so the word is unknown', 'a©cat', ['[UNK]']],
    ['greedy longest-match WordPiece', 'unaffable', ['un', '##aff', '##able']],
    ['a continuation piece', 'cats', ['cat', '##s']],
    ['a word with an unmatched rest is one [UNK]', 'catdog', ['[UNK]']],
    ['an unknown word', 'zebra', ['[UNK]']],
    ['accents stripped when lower-casing', 'Café NAÏVE', ['cafe', 'naive']],
    ['decomposed accents too', 'cafe\u0301', ['cafe']],
    ['CJK ideographs become words', '你好', ['你', '好']],
    ['a CJK ideograph outside the BMP (Extension B) too', 'x\u{20000}x', ['x', '𠀀', 'x']],
    ['Hiragana is not spaced', 'こんにちは', ['[UNK]']],
    ['NUL, U+FFFD, BEL and a zero-width space (Cf) are dropped', 'c\u0000a\ufffd\u0007t\u200b', ['cat']],
    ['an unassigned code point (Cn) is dropped', 'ca\u0378t', ['cat']],
    ['a lone surrogate (Cs) and a private-use character (Co) are dropped', 'c\ud800a\ue000t', ['cat']],
    ['an information separator (Cc) is dropped, not a space', 'a\u001ccat', ['[UNK]']],
    ['tab, newline, CR, NBSP and ideographic space separate', '\ta\ncat\r\n\u00a0cat\u3000a ', ['a', 'cat', 'cat', 'a']],
    ['a line separator (Zl) separates, as str.split does', 'a\u2028cat', ['a', 'cat']],
    ['empty', '', []],
    ['only whitespace', ' \t\n\r\u00a0 ', []],
    ['special tokens split out of the text, case-sensitive', 'a [SEP] cat[CLS]', ['a', '[SEP]', 'cat', '[CLS]']],
    ['a lower-case special token is plain text', '[sep]', ['[', 'sep', ']']],
    ['contraction pieces', "Don't", ['don', "'", 't']],
    ['İ lower-cases to i + a combining dot, which is stripped', 'İ', ['i']],
  ];
  for (const [name, text, tokens] of cases) {
    it(`${name}: ${JSON.stringify(text)}`, () => {
      const tokenizer = uncased();
      expect(tokenizer.tokenize(text)).toEqual(tokens);
      expect(tokenizer.encode(text)).toEqual([id('[CLS]'), ...tokens.map(id), id('[SEP]')]);
    });
  }

  it('a word of 100 code points is split; 101 is one [UNK]', () => {
    const tokenizer = uncased();
    expect(tokenizer.tokenize('x'.repeat(100))).toEqual(['x', ...Array(99).fill('##x')]);
    expect(tokenizer.tokenize('x'.repeat(101))).toEqual(['[UNK]']);
    expect(tokenizer.tokenize(`${'x'.repeat(101)} cat`)).toEqual(['[UNK]', 'cat']);
  });

  it('do_lower_case false keeps case and (strip_accents unset) accents', () => {
    const tokenizer = BertTokenizer.fromVocab(vocabText, { do_lower_case: false });
    expect(tokenizer.tokenize('Cafe café Café')).toEqual(['Cafe', 'café', '[UNK]']);
  });

  it('strip_accents true without lower-casing strips only accents', () => {
    const tokenizer = BertTokenizer.fromVocab(vocabText, { do_lower_case: false, strip_accents: true });
    expect(tokenizer.tokenize('Café')).toEqual(['Cafe']);
  });

  it('strip_accents false keeps accents (NFC-composed) while lower-casing', () => {
    const tokenizer = BertTokenizer.fromVocab(vocabText, { strip_accents: false });
    expect(tokenizer.tokenize('CAFÉ cafe\u0301')).toEqual(['café', 'café']);
  });

  it('tokenize_chinese_chars false leaves ideographs joined', () => {
    const tokenizer = BertTokenizer.fromVocab(vocabText, { tokenize_chinese_chars: false });
    expect(tokenizer.tokenize('你好')).toEqual(['[UNK]']);
  });

  it('never_split keeps a word whole, as a token of its own (unknown unless in the vocab)', () => {
    const tokenizer = BertTokenizer.fromVocab(vocabText, { never_split: ['cat!'] });
    expect(tokenizer.tokenize('cat! cat!?')).toEqual(['cat!', 'cat', '!', '?']);
    expect(tokenizer.encode('cat! cat!?')).toEqual([id('[CLS]'), id('[UNK]'), id('cat'), id('!'), id('?'), id('[SEP]')]);
  });

  it('maxLength truncates the text from the right and keeps [CLS]/[SEP]', () => {
    const tokenizer = uncased();
    expect(tokenizer.encode('a cat a cat', { maxLength: 4 })).toEqual([id('[CLS]'), id('a'), id('cat'), id('[SEP]')]);
    expect(tokenizer.encode('a', { maxLength: 4 })).toEqual([id('[CLS]'), id('a'), id('[SEP]')]);
    expect(() => tokenizer.encode('a', { maxLength: 1 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('decode glues ## pieces, cleans up spaces, and can skip special tokens', () => {
    const tokenizer = uncased();
    const ids = tokenizer.encode("Hello, cats! Don't?");
    expect(tokenizer.decode(ids)).toBe("[CLS] hello, cats! don't? [SEP]");
    expect(tokenizer.decode(ids, { skipSpecialTokens: true })).toBe("hello, cats! don't?");
    expect(tokenizer.decode(ids, { skipSpecialTokens: true, cleanUpTokenizationSpaces: false })).toBe("hello , cats ! don ' t ?");
    expect(tokenizer.decode([9999])).toBe('[UNK]');
  });

  it('reads CRLF vocab files and AddedToken objects for special tokens', () => {
    const tokenizer = BertTokenizer.fromVocab(VOCAB.join('\r\n'), { sep_token: { content: '[SEP]', __type: 'AddedToken' } });
    expect(tokenizer.encode('a cat')).toEqual([id('[CLS]'), id('a'), id('cat'), id('[SEP]')]);
  });

  it('an added token of added_tokens_decoder is split out wherever it occurs and gets its own id', () => {
    const tokenizer = BertTokenizer.fromVocab(vocabText, {
      added_tokens_decoder: { '100': { content: 'cat!', special: false } },
    });
    expect(tokenizer.tokenize('acat!x')).toEqual(['a', 'cat!', 'x']);
    expect(tokenizer.encode('acat!x')).toEqual([id('[CLS]'), id('a'), 100, id('x'), id('[SEP]')]);
    expect(tokenizer.decode([100, id('a')])).toBe('cat! a');
    expect(tokenizer.size).toBe(VOCAB.length + 1);
  });

  it('refuses a non-BERT tokenizer class, a vocab without [UNK] and bad config values', () => {
    expect(() => BertTokenizer.fromVocab(vocabText, { tokenizer_class: 'RobertaTokenizer' })).toThrow(
      expect.objectContaining({ code: 'TOKENIZER_UNSUPPORTED' }),
    );
    expect(() => BertTokenizer.fromVocab('a\ncat\n')).toThrow(expect.objectContaining({ code: 'TOKENIZER_CONFIG_INVALID' }));
    expect(() => BertTokenizer.fromVocab(vocabText, { do_lower_case: 'yes' as unknown as boolean })).toThrow(
      expect.objectContaining({ code: 'TOKENIZER_CONFIG_INVALID' }),
    );
    expect(() => BertTokenizer.fromFiles({})).toThrow(expect.objectContaining({ code: 'FILE_NOT_FOUND' }));
  });
});

describe('BertTokenizer from tokenizer.json', () => {
  const tokenizerJson = {
    version: '1.0',
    added_tokens: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map((content) => ({
      id: VOCAB.indexOf(content),
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(VOCAB.map((t, i) => [t, i])),
    },
  };

  it('tokenizes as the same vocabulary from vocab.txt does', () => {
    const fromJson = BertTokenizer.fromFiles({ tokenizerJson, vocab: 'ignored' });
    const fromVocab = uncased();
    for (const text of ['Hello, World!', 'unaffable cats', 'Café 你好 x\u{20000}', 'a [SEP] cat', '']) {
      expect(fromJson.encode(text)).toEqual(fromVocab.encode(text));
    }
  });

  it('refuses another model type', () => {
    expect(() => BertTokenizer.fromTokenizerJson({ ...tokenizerJson, model: { type: 'BPE', vocab: {} } })).toThrow(
      expect.objectContaining({ code: 'TOKENIZER_UNSUPPORTED' }),
    );
  });
});

describe('BertTokenizer properties (fast-check)', () => {
  const tokenizer = uncased();
  const size = tokenizer.size;

  it('any string tokenizes to ids inside the vocabulary, framed by [CLS] and [SEP]', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (text) => {
        const ids = tokenizer.encode(text);
        expect(ids[0]).toBe(id('[CLS]'));
        expect(ids[ids.length - 1]).toBe(id('[SEP]'));
        for (const i of ids) expect(i >= 0 && i < size).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('tokenizing two texts joined by a space is tokenizing each', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 30 }), fc.string({ unit: 'binary', maxLength: 30 }), (a, b) => {
        expect(tokenizer.tokenize(`${a} ${b}`)).toEqual([...tokenizer.tokenize(a), ...tokenizer.tokenize(b)]);
      }),
      { numRuns: 300 },
    );
  });

  const words = fc.constantFrom('a', 'cat', 'cats', 'hello', 'world', 'don', 'naive', 'unaffable', 'x');
  const separators = fc.constantFrom(' ', '  ', '\t', '\n', '\r\n', '\u00a0', '\u3000', '\u2028', ' \t ');

  it('any run of whitespace separates words the same way', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(words, separators), { minLength: 1, maxLength: 8 }), (pairs) => {
        const spaced = pairs.map(([w]) => w).join(' ');
        const varied = pairs.map(([w, s]) => w + s).join('');
        expect(tokenizer.tokenize(varied)).toEqual(tokenizer.tokenize(spaced));
      }),
    );
  });

  it('decoding the ids of vocabulary words gives the words back', () => {
    fc.assert(
      fc.property(fc.array(words, { minLength: 0, maxLength: 8 }), (list) => {
        const text = list.join(' ');
        expect(tokenizer.decode(tokenizer.encode(text), { skipSpecialTokens: true })).toBe(text);
      }),
    );
  });
});
