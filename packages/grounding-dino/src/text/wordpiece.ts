import { splitOnWhitespace } from './basic-tokenizer.js';

export interface WordPieceOptions {
  unkToken: string;
  /** Marks a piece that continues a word ("##"). */
  continuingSubwordPrefix: string;
  /** Longer words (in code points) become one unknown token, as in BERT (100). */
  maxInputCharsPerWord: number;
}

/**
 * Greedy longest-match-first WordPiece over each whitespace-separated word, as transformers' slow
 * `WordpieceTokenizer`: a word with any piece missing from the vocabulary is one unknown token.
 */
export function wordPieceTokenize(text: string, vocab: ReadonlyMap<string, number>, options: WordPieceOptions): string[] {
  const out: string[] = [];
  for (const word of splitOnWhitespace(text)) {
    const chars = Array.from(word);
    if (chars.length > options.maxInputCharsPerWord) {
      out.push(options.unkToken);
      continue;
    }
    const pieces: string[] = [];
    let start = 0;
    let known = true;
    while (start < chars.length) {
      let end = chars.length;
      let piece: string | undefined;
      while (start < end) {
        const candidate = (start > 0 ? options.continuingSubwordPrefix : '') + chars.slice(start, end).join('');
        if (vocab.has(candidate)) {
          piece = candidate;
          break;
        }
        end--;
      }
      if (piece === undefined) {
        known = false;
        break;
      }
      pieces.push(piece);
      start = end;
    }
    if (known) out.push(...pieces);
    else out.push(options.unkToken);
  }
  return out;
}
