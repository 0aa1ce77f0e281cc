import { Tensor, VitkitError } from '@vitkit/core';
import type { BertTokenizer } from '../text/bert-tokenizer.js';

/**
 * What to detect, as `GroundingDinoProcessor` takes it: a prompt ("a cat. a remote control."), a
 * list of phrases (["a cat", "a remote control"]), or a batch of either, one per image.
 */
export type GroundingPrompts = string | readonly string[] | readonly (readonly string[])[];

/** The text inputs of Grounding DINO, int64 `[batch, length]`, padded on the right to the longest prompt. */
export interface TokenizedPrompts {
  input_ids: Tensor<'int64'>;
  /** 1 on tokens, 0 on padding. */
  attention_mask: Tensor<'int64'>;
  /** All 0: one sequence per prompt. */
  token_type_ids: Tensor<'int64'>;
}

export interface TokenizePromptsOptions {
  /**
   * The number of images: one prompt is repeated for each, else there must be one prompt per image.
   * Default: as many as prompts.
   */
  batchSize?: number;
  /** Truncate each prompt to this many tokens ([CLS] and [SEP] kept), as the tokenizer's `max_length`. Default: none. */
  maxLength?: number;
}

function isPhraseList(value: unknown): value is readonly string[] {
  return Array.isArray(value) && value.every((t) => typeof t === 'string' && !t.includes('.'));
}

/** `["A cat", "a dog "]` → `"a cat. a dog."`: phrases trimmed, lower-cased, each ended by a dot. */
export function mergePhrases(phrases: readonly string[]): string {
  return `${phrases.map((p) => p.trim().toLowerCase()).join('. ')}.`;
}

/**
 * The prompt text of each batch entry, by transformers' rule (`GroundingDinoProcessor`): a list of
 * strings none of which has a "." is one image's phrases and is merged into one prompt; a list of
 * such lists is a batch of them; any other string or list of strings is used as given (a string is
 * neither lower-cased nor given a final "." here; the tokenizer lower-cases it).
 */
export function promptTexts(prompts: GroundingPrompts): string[] {
  if (typeof prompts === 'string') return [prompts];
  if (!Array.isArray(prompts) || prompts.length === 0) {
    throw new VitkitError(
      'INVALID_ARGUMENT',
      'A prompt is a string ("a cat. a dog."), a list of phrases (["a cat", "a dog"]) or a batch of them.',
    );
  }
  // Read as a plain list: which of the three forms it is gets decided here.
  const list: readonly unknown[] = prompts;
  if (isPhraseList(list)) return [mergePhrases(list)];
  if (list.every(isPhraseList)) {
    if (list.some((p) => p.length === 0)) throw new VitkitError('INVALID_ARGUMENT', 'An image of the batch has an empty list of phrases.');
    return list.map(mergePhrases);
  }
  if (list.every((p): p is string => typeof p === 'string')) return [...list];
  throw new VitkitError(
    'INVALID_ARGUMENT',
    'A batch of prompts must be all strings ("a cat. a dog.") or all lists of phrases (["a cat", "a dog"]), without "." inside a phrase.',
  );
}

/**
 * Tokenizes prompts into the tensors the model takes (`input_ids`, `attention_mask`,
 * `token_type_ids`), as `GroundingDinoProcessor(text=..., padding="longest")`: `[CLS] … [SEP]` per
 * prompt, padded with the pad id to the longest.
 */
export function tokenizePrompts(
  tokenizer: BertTokenizer,
  prompts: GroundingPrompts,
  options: TokenizePromptsOptions = {},
): TokenizedPrompts {
  let texts = promptTexts(prompts);
  const { batchSize } = options;
  if (batchSize !== undefined) {
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new VitkitError('INVALID_ARGUMENT', `batchSize must be a positive integer, got ${batchSize}.`);
    if (texts.length === 1) texts = Array(batchSize).fill(texts[0]);
    else if (texts.length !== batchSize) {
      throw new VitkitError(
        'INVALID_ARGUMENT',
        `Got ${texts.length} prompts for ${batchSize} images: pass one prompt for all, or one per image.`,
      );
    }
  }
  const encoded = texts.map((text) => tokenizer.encode(text, { maxLength: options.maxLength }));
  const length = Math.max(...encoded.map((ids) => ids.length));
  const size = encoded.length * length;
  const inputIds = new BigInt64Array(size).fill(BigInt(tokenizer.padTokenId));
  const attentionMask = new BigInt64Array(size);
  encoded.forEach((ids, b) => {
    ids.forEach((id, i) => {
      inputIds[b * length + i] = BigInt(id);
      attentionMask[b * length + i] = 1n;
    });
  });
  const shape = [encoded.length, length];
  return {
    input_ids: new Tensor('int64', inputIds, shape),
    attention_mask: new Tensor('int64', attentionMask, shape),
    token_type_ids: new Tensor('int64', new BigInt64Array(size), shape),
  };
}
