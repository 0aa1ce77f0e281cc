import { VitkitError } from '@vitkit/core';
import {
  type BasicTokenizerOptions,
  basicTokenize,
  stripLeadingWhitespace,
  stripTrailingWhitespace,
  stripWhitespace,
} from './basic-tokenizer.js';
import { type WordPieceOptions, wordPieceTokenize } from './wordpiece.js';

/** The keys of `tokenizer_config.json` a BERT tokenizer reads; others are ignored, as transformers does. */
export interface BertTokenizerConfig {
  tokenizer_class?: string | null;
  do_lower_case?: boolean | null;
  do_basic_tokenize?: boolean | null;
  never_split?: readonly string[] | null;
  tokenize_chinese_chars?: boolean | null;
  strip_accents?: boolean | null;
  clean_up_tokenization_spaces?: boolean | null;
  unk_token?: TokenSpec;
  sep_token?: TokenSpec;
  pad_token?: TokenSpec;
  cls_token?: TokenSpec;
  mask_token?: TokenSpec;
  added_tokens_decoder?: Readonly<Record<string, AddedTokenSpec>> | null;
  [key: string]: unknown;
}

/** A special token as configs write it: its text, or an `AddedToken` object. */
export type TokenSpec = string | { content: string; [key: string]: unknown } | null | undefined;

export interface AddedTokenSpec {
  content: string;
  lstrip?: boolean;
  rstrip?: boolean;
  single_word?: boolean;
  special?: boolean;
  [key: string]: unknown;
}

export interface EncodeOptions {
  /** Add `[CLS]` … `[SEP]` (default true). */
  addSpecialTokens?: boolean;
  /**
   * Truncate to at most this many ids, special tokens included, cutting the text's tokens from the
   * right (transformers' `truncation=True, max_length=N`). Default: no truncation.
   */
  maxLength?: number;
}

export interface DecodeOptions {
  /** Drop special tokens (`[CLS]`, `[SEP]`, `[PAD]`, …); default false, as transformers. */
  skipSpecialTokens?: boolean;
  /** Remove the space before punctuation and contractions; default from the config (true). */
  cleanUpTokenizationSpaces?: boolean;
}

interface AddedToken {
  content: string;
  lstrip: boolean;
  rstrip: boolean;
  special: boolean;
}

const ACCEPTED_CLASSES = new Set(['BertTokenizer', 'BertTokenizerFast', 'BertTokenizerLegacy']);

function configError(message: string): VitkitError {
  return new VitkitError('TOKENIZER_CONFIG_INVALID', message);
}

function tokenText(spec: TokenSpec, key: string, fallback: string): string {
  if (spec === undefined || spec === null) return fallback;
  if (typeof spec === 'string') return spec;
  if (typeof spec === 'object' && typeof spec.content === 'string') return spec.content;
  throw configError(`tokenizer_config.json ${key} must be a string or an object with "content", got ${JSON.stringify(spec)}.`);
}

function flag(value: unknown, key: string, fallback: boolean): boolean {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'boolean') throw configError(`tokenizer config ${key} must be true, false or null, got ${JSON.stringify(value)}.`);
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `vocab.txt` as transformers' `load_vocab` reads it: one token a line, the line number is its id. */
function readVocabText(text: string): Map<string, number> {
  const lines = text.split(/\r\n|\r|\n/);
  // A final newline ends the last line rather than starting an empty one.
  if (lines.length > 0 && lines[lines.length - 1] === '' && /[\r\n]$/.test(text)) lines.pop();
  const vocab = new Map<string, number>();
  // A repeated token keeps its last line, as the Python dict does.
  lines.forEach((token, id) => vocab.set(token, id));
  return vocab;
}

/**
 * A BERT WordPiece tokenizer with the semantics of transformers' slow `BertTokenizer`
 * (`BertTokenizerLegacy` in v5): special tokens are split out of the text first (exact,
 * case-sensitive match, longest first), then basic tokenization and WordPiece run on the rest.
 * Built from `vocab.txt` or `tokenizer.json`, plus `tokenizer_config.json`.
 */
export class BertTokenizer {
  readonly unkToken: string;
  readonly sepToken: string;
  readonly padToken: string;
  readonly clsToken: string;
  readonly maskToken: string;
  readonly unkTokenId: number;
  readonly sepTokenId: number;
  readonly padTokenId: number;
  readonly clsTokenId: number;
  readonly cleanUpTokenizationSpaces: boolean;
  private readonly vocab: ReadonlyMap<string, number>;
  private readonly idsToTokens: ReadonlyMap<number, string>;
  private readonly addedById = new Map<number, AddedToken>();
  private readonly addedByContent = new Map<string, number>();
  /** Added tokens longest first, so the longest match at a position wins. */
  private readonly addedContents: string[];
  private readonly specialIds = new Set<number>();
  private readonly basic: BasicTokenizerOptions | undefined;
  private readonly wordPiece: WordPieceOptions;

  private constructor(
    vocab: Map<string, number>,
    config: BertTokenizerConfig,
    model: { basic: BasicTokenizerOptions | undefined; wordPiece: Omit<WordPieceOptions, 'unkToken'> },
    addedTokens: ReadonlyMap<number, AddedToken>,
  ) {
    if (config.tokenizer_class != null && !ACCEPTED_CLASSES.has(String(config.tokenizer_class))) {
      throw new VitkitError(
        'TOKENIZER_UNSUPPORTED',
        `tokenizer_class "${String(config.tokenizer_class)}" is not a BERT WordPiece tokenizer; supported: ${[...ACCEPTED_CLASSES].join(', ')}.`,
      );
    }
    this.vocab = vocab;
    this.idsToTokens = new Map([...vocab].map(([token, id]) => [id, token]));
    this.unkToken = tokenText(config.unk_token, 'unk_token', '[UNK]');
    this.sepToken = tokenText(config.sep_token, 'sep_token', '[SEP]');
    this.padToken = tokenText(config.pad_token, 'pad_token', '[PAD]');
    this.clsToken = tokenText(config.cls_token, 'cls_token', '[CLS]');
    this.maskToken = tokenText(config.mask_token, 'mask_token', '[MASK]');
    this.cleanUpTokenizationSpaces = flag(config.clean_up_tokenization_spaces, 'clean_up_tokenization_spaces', true);

    for (const [id, token] of addedTokens) this.addAdded(id, token);
    // As transformers: special tokens missing from the added tokens are added, at their vocab id
    // or, when the vocab lacks them, after the last id.
    let nextId = vocab.size;
    for (const id of [...vocab.values(), ...this.addedById.keys()]) nextId = Math.max(nextId, id + 1);
    for (const content of [this.unkToken, this.sepToken, this.padToken, this.clsToken, this.maskToken]) {
      if (this.addedByContent.has(content)) continue;
      const id = vocab.get(content) ?? nextId++;
      this.addAdded(id, { content, lstrip: false, rstrip: false, special: true });
    }
    for (const content of [this.unkToken, this.sepToken, this.padToken, this.clsToken, this.maskToken]) {
      this.specialIds.add(this.addedByContent.get(content) as number);
    }
    for (const [id, token] of this.addedById) if (token.special) this.specialIds.add(id);
    this.addedContents = [...this.addedByContent.keys()].sort((a, b) => b.length - a.length);

    if (!vocab.has(this.unkToken)) {
      throw configError(`The vocabulary has no unknown token "${this.unkToken}"; a BERT vocab.txt has [UNK] (id 100).`);
    }
    this.unkTokenId = vocab.get(this.unkToken) as number;
    this.sepTokenId = this.tokenToId(this.sepToken);
    this.padTokenId = this.tokenToId(this.padToken);
    this.clsTokenId = this.tokenToId(this.clsToken);

    this.basic = model.basic && {
      ...model.basic,
      neverSplit: new Set([...model.basic.neverSplit, ...[...this.specialIds].map((id) => this.idToToken(id))]),
    };
    this.wordPiece = { ...model.wordPiece, unkToken: this.unkToken };
  }

  private addAdded(id: number, token: AddedToken): void {
    this.addedById.set(id, token);
    this.addedByContent.set(token.content, id);
  }

  /** From `vocab.txt` (one token a line) and the checkpoint's `tokenizer_config.json`. */
  static fromVocab(vocabText: string, config: BertTokenizerConfig = {}): BertTokenizer {
    if (typeof vocabText !== 'string') throw configError('vocab.txt must be read as text (UTF-8).');
    if (!isObject(config)) throw configError('tokenizer_config.json must be a JSON object.');
    const vocab = readVocabText(vocabText);
    const doLowerCase = flag(config.do_lower_case, 'do_lower_case', true);
    const neverSplit = config.never_split ?? [];
    if (!Array.isArray(neverSplit) || !neverSplit.every((t) => typeof t === 'string')) {
      throw configError(`tokenizer_config.json never_split must be a list of strings, got ${JSON.stringify(config.never_split)}.`);
    }
    const basic = flag(config.do_basic_tokenize, 'do_basic_tokenize', true)
      ? {
          cleanText: true,
          doLowerCase,
          stripAccents: config.strip_accents === undefined ? null : (config.strip_accents as boolean | null),
          tokenizeChineseChars: flag(config.tokenize_chinese_chars, 'tokenize_chinese_chars', true),
          neverSplit: new Set(neverSplit),
        }
      : undefined;
    if (basic && basic.stripAccents !== null && typeof basic.stripAccents !== 'boolean') {
      throw configError(`tokenizer_config.json strip_accents must be true, false or null, got ${JSON.stringify(basic.stripAccents)}.`);
    }
    return new BertTokenizer(
      vocab,
      config,
      { basic, wordPiece: { continuingSubwordPrefix: '##', maxInputCharsPerWord: 100 } },
      readAddedTokensDecoder(config.added_tokens_decoder),
    );
  }

  /**
   * From a `tokenizer.json` whose pipeline is BERT's (BertNormalizer, BertPreTokenizer, WordPiece):
   * its vocabulary, normalizer flags and added tokens, run with the slow tokenizer's semantics.
   */
  static fromTokenizerJson(tokenizerJson: unknown, config: BertTokenizerConfig = {}): BertTokenizer {
    if (!isObject(tokenizerJson)) throw configError('tokenizer.json must be a JSON object.');
    if (!isObject(config)) throw configError('tokenizer_config.json must be a JSON object.');
    const { model, normalizer, pre_tokenizer: preTokenizer } = tokenizerJson;
    if (!isObject(model) || model.type !== 'WordPiece' || !isObject(model.vocab)) {
      throw new VitkitError('TOKENIZER_UNSUPPORTED', 'tokenizer.json: only a WordPiece model (BERT) is supported.');
    }
    if (normalizer != null && (!isObject(normalizer) || normalizer.type !== 'BertNormalizer')) {
      throw new VitkitError('TOKENIZER_UNSUPPORTED', 'tokenizer.json: only the BertNormalizer (or none) is supported.');
    }
    if (!isObject(preTokenizer) || preTokenizer.type !== 'BertPreTokenizer') {
      throw new VitkitError('TOKENIZER_UNSUPPORTED', 'tokenizer.json: only the BertPreTokenizer is supported.');
    }
    const vocab = new Map<string, number>();
    for (const [token, id] of Object.entries(model.vocab)) {
      if (!Number.isInteger(id) || (id as number) < 0)
        throw configError(`tokenizer.json: the id of "${token}" is not a non-negative integer.`);
      vocab.set(token, id as number);
    }
    const lowercase = flag(normalizer?.lowercase, 'normalizer.lowercase', false);
    const stripAccents = normalizer?.strip_accents ?? null;
    if (stripAccents !== null && typeof stripAccents !== 'boolean')
      throw configError('tokenizer.json: normalizer.strip_accents must be a boolean or null.');
    const prefix = model.continuing_subword_prefix ?? '##';
    const maxChars = model.max_input_chars_per_word ?? 100;
    if (typeof prefix !== 'string' || !Number.isInteger(maxChars) || (maxChars as number) < 0) {
      throw configError('tokenizer.json: WordPiece continuing_subword_prefix must be a string and max_input_chars_per_word an integer.');
    }
    const added = new Map<number, AddedToken>();
    for (const entry of Array.isArray(tokenizerJson.added_tokens) ? tokenizerJson.added_tokens : []) {
      if (!isObject(entry) || !Number.isInteger(entry.id) || typeof entry.content !== 'string') {
        throw configError('tokenizer.json: every added_tokens entry needs an integer id and a content string.');
      }
      added.set(entry.id as number, {
        content: entry.content,
        lstrip: entry.lstrip === true,
        rstrip: entry.rstrip === true,
        special: entry.special === true,
      });
    }
    const unk = typeof model.unk_token === 'string' ? model.unk_token : undefined;
    return new BertTokenizer(
      vocab,
      { ...config, unk_token: config.unk_token ?? unk },
      {
        basic: {
          cleanText: flag(normalizer?.clean_text, 'normalizer.clean_text', true),
          doLowerCase: lowercase,
          stripAccents: stripAccents as boolean | null,
          tokenizeChineseChars: flag(normalizer?.handle_chinese_chars, 'normalizer.handle_chinese_chars', true),
          neverSplit: new Set(),
        },
        wordPiece: { continuingSubwordPrefix: prefix, maxInputCharsPerWord: maxChars as number },
      },
      mergeAdded(readAddedTokensDecoder(config.added_tokens_decoder), added),
    );
  }

  /** The checkpoint's files: `tokenizer.json` when it has one (as transformers prefers), else `vocab.txt`. */
  static fromFiles(files: { vocab?: string; tokenizerJson?: unknown; tokenizerConfig?: BertTokenizerConfig }): BertTokenizer {
    if (files.tokenizerJson !== undefined) return BertTokenizer.fromTokenizerJson(files.tokenizerJson, files.tokenizerConfig);
    if (files.vocab !== undefined) return BertTokenizer.fromVocab(files.vocab, files.tokenizerConfig);
    throw new VitkitError('FILE_NOT_FOUND', 'A BERT tokenizer needs vocab.txt or tokenizer.json; the checkpoint has neither.');
  }

  /** Size of the vocabulary with the added tokens (transformers' `len(tokenizer)`). */
  get size(): number {
    return new Set([...this.vocab.keys(), ...this.addedByContent.keys()]).size;
  }

  /** Ids of the special tokens (`[CLS]`, `[SEP]`, `[PAD]`, `[UNK]`, `[MASK]` and added specials). */
  get specialTokenIds(): ReadonlySet<number> {
    return this.specialIds;
  }

  /** The text's tokens, without `[CLS]`/`[SEP]`. */
  tokenize(text: string): string[] {
    if (typeof text !== 'string') throw new VitkitError('INVALID_ARGUMENT', `tokenize takes a string, got ${typeof text}.`);
    const pieces = this.splitOnAddedTokens(text);
    const tokens: string[] = [];
    for (const piece of pieces) {
      if (piece.added) tokens.push(piece.text);
      else if (piece.text) tokens.push(...this.tokenizeWords(piece.text));
    }
    return tokens;
  }

  private tokenizeWords(text: string): string[] {
    if (!this.basic) return wordPieceTokenize(text, this.vocab, this.wordPiece);
    const tokens: string[] = [];
    for (const word of basicTokenize(text, this.basic)) {
      if (this.basic.neverSplit.has(word)) tokens.push(word);
      else tokens.push(...wordPieceTokenize(word, this.vocab, this.wordPiece));
    }
    return tokens;
  }

  /** Splits on added tokens, leftmost match first and the longest at that position, then strips around them as configured. */
  private splitOnAddedTokens(text: string): { text: string; added: boolean }[] {
    const pieces: { text: string; added: boolean }[] = [];
    let start = 0;
    let i = 0;
    while (i < text.length) {
      const match = this.addedContents.find((content) => text.startsWith(content, i));
      if (match === undefined) {
        i++;
        continue;
      }
      if (i > start) pieces.push({ text: text.slice(start, i), added: false });
      pieces.push({ text: match, added: true });
      i += match.length;
      start = i;
    }
    if (start < text.length) pieces.push({ text: text.slice(start), added: false });
    pieces.forEach((piece, k) => {
      if (!piece.added) return;
      const token = this.addedById.get(this.addedByContent.get(piece.text) as number) as AddedToken;
      const left = pieces[k - 1];
      const right = pieces[k + 1];
      if (token.rstrip && right && !right.added) right.text = stripLeadingWhitespace(right.text);
      if (token.lstrip && left && !left.added) left.text = stripTrailingWhitespace(left.text);
    });
    return pieces;
  }

  private tokenToId(token: string): number {
    return this.addedByContent.get(token) ?? this.vocab.get(token) ?? this.unkTokenId;
  }

  private idToToken(id: number): string {
    return this.addedById.get(id)?.content ?? this.idsToTokens.get(id) ?? this.unkToken;
  }

  convertTokensToIds(tokens: readonly string[]): number[] {
    return tokens.map((t) => this.tokenToId(t));
  }

  convertIdsToTokens(ids: readonly number[]): string[] {
    return ids.map((id) => this.idToToken(id));
  }

  /** Token ids of one text, `[CLS] … [SEP]` by default. */
  encode(text: string, options: EncodeOptions = {}): number[] {
    const addSpecial = options.addSpecialTokens ?? true;
    let ids = this.convertTokensToIds(this.tokenize(text));
    if (options.maxLength !== undefined) {
      const reserved = addSpecial ? 2 : 0;
      if (!Number.isInteger(options.maxLength) || options.maxLength < Math.max(reserved, 1)) {
        throw new VitkitError(
          'INVALID_ARGUMENT',
          `maxLength must be an integer of at least ${Math.max(reserved, 1)} (room for [CLS] and [SEP]), got ${options.maxLength}.`,
        );
      }
      ids = ids.slice(0, options.maxLength - reserved);
    }
    return addSpecial ? [this.clsTokenId, ...ids, this.sepTokenId] : ids;
  }

  /**
   * Text of token ids, as transformers' `decode`: tokens joined by spaces, `##` pieces glued to the
   * previous token, then (by default) the space before `.`, `?`, `!`, `,` and English contractions removed.
   */
  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    const kept = options.skipSpecialTokens ? ids.filter((id) => !this.specialIds.has(id)) : ids;
    let text = stripWhitespace(this.convertIdsToTokens(kept).join(' ').replaceAll(` ${this.wordPiece.continuingSubwordPrefix}`, ''));
    if (options.cleanUpTokenizationSpaces ?? this.cleanUpTokenizationSpaces) text = cleanUpTokenization(text);
    return text;
  }
}

/** transformers' `clean_up_tokenization`: English detokenization of the joined tokens. */
export function cleanUpTokenization(text: string): string {
  return text
    .replaceAll(' .', '.')
    .replaceAll(' ?', '?')
    .replaceAll(' !', '!')
    .replaceAll(' ,', ',')
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}

function readAddedTokensDecoder(decoder: BertTokenizerConfig['added_tokens_decoder']): Map<number, AddedToken> {
  const added = new Map<number, AddedToken>();
  if (decoder == null) return added;
  if (!isObject(decoder)) throw configError('tokenizer_config.json added_tokens_decoder must be an object of id -> token.');
  for (const [key, entry] of Object.entries(decoder)) {
    const id = Number(key);
    if (!Number.isInteger(id) || id < 0 || !isObject(entry) || typeof entry.content !== 'string') {
      throw configError(`tokenizer_config.json added_tokens_decoder["${key}"] must map an integer id to {content, ...}.`);
    }
    if (entry.single_word === true) {
      throw new VitkitError('TOKENIZER_UNSUPPORTED', `added token "${entry.content}" has single_word=true, which is not supported.`);
    }
    added.set(id, {
      content: entry.content,
      lstrip: entry.lstrip === true,
      rstrip: entry.rstrip === true,
      special: entry.special === true,
    });
  }
  return added;
}

function mergeAdded(fromConfig: Map<number, AddedToken>, fromJson: Map<number, AddedToken>): Map<number, AddedToken> {
  return new Map([...fromJson, ...fromConfig]);
}
