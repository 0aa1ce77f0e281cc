// BERT's basic tokenization (cleanup, CJK spacing, lower-casing, accent stripping, punctuation
// splitting) with the semantics of transformers' slow `BasicTokenizer`. Characters are Unicode code
// points, as Python strings are, never UTF-16 units: a CJK ideograph outside the BMP is one character.

export interface BasicTokenizerOptions {
  /** Drop control characters and turn every whitespace character into a space. */
  cleanText: boolean;
  doLowerCase: boolean;
  /** `null` follows `doLowerCase`, as the original BERT does. */
  stripAccents: boolean | null;
  tokenizeChineseChars: boolean;
  /** Words kept whole (not lower-cased, not split on punctuation). */
  neverSplit: ReadonlySet<string>;
}

// Python's str.isspace() set: str.split() with no argument splits on exactly these.
const WHITESPACE_CLASS = '[\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]';
const PYTHON_WHITESPACE = new RegExp(`${WHITESPACE_CLASS}+`, 'u');
const LEADING_WHITESPACE = new RegExp(`^${WHITESPACE_CLASS}+`, 'u');
const TRAILING_WHITESPACE = new RegExp(`${WHITESPACE_CLASS}+$`, 'u');

/** Python's `text.split()`: splits on runs of whitespace and drops empty pieces. */
export function splitOnWhitespace(text: string): string[] {
  return text.split(PYTHON_WHITESPACE).filter((piece) => piece.length > 0);
}

/** Python's `text.strip()` (str.isspace whitespace on both ends). */
export function stripWhitespace(text: string): string {
  return stripTrailingWhitespace(stripLeadingWhitespace(text));
}

/** Python's `text.lstrip()`. */
export function stripLeadingWhitespace(text: string): string {
  return text.replace(LEADING_WHITESPACE, '');
}

/** Python's `text.rstrip()`. */
export function stripTrailingWhitespace(text: string): string {
  return text.replace(TRAILING_WHITESPACE, '');
}

/** transformers' `_is_whitespace`: space, \t, \n, \r and the Zs category. */
function isWhitespace(char: string): boolean {
  return char === ' ' || char === '\t' || char === '\n' || char === '\r' || /^\p{Zs}$/u.test(char);
}

/** transformers' `_is_control`: any C* category (Cc, Cf, Cs, Co, Cn) except \t, \n, \r. */
function isControl(char: string): boolean {
  if (char === '\t' || char === '\n' || char === '\r') return false;
  return /^\p{C}$/u.test(char);
}

/** transformers' `_is_punctuation`: every non-alphanumeric ASCII symbol, plus the P* categories. */
export function isPunctuation(char: string): boolean {
  const cp = char.codePointAt(0) ?? 0;
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) return true;
  return /^\p{P}$/u.test(char);
}

/** The CJK Unified Ideographs blocks BERT puts spaces around (not Hangul, Hiragana or Katakana). */
export function isChineseChar(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

function cleanText(text: string): string {
  let out = '';
  for (const char of text) {
    const cp = char.codePointAt(0);
    if (cp === 0 || cp === 0xfffd || isControl(char)) continue;
    out += isWhitespace(char) ? ' ' : char;
  }
  return out;
}

function spaceChineseChars(text: string): string {
  let out = '';
  for (const char of text) out += isChineseChar(char.codePointAt(0) ?? 0) ? ` ${char} ` : char;
  return out;
}

function stripAccents(text: string): string {
  return text.normalize('NFD').replace(/\p{Mn}/gu, '');
}

function splitOnPunctuation(word: string): string[] {
  const pieces: string[] = [];
  let startNewWord = true;
  for (const char of word) {
    if (isPunctuation(char)) {
      pieces.push(char);
      startNewWord = true;
    } else {
      if (startNewWord) pieces.push('');
      startNewWord = false;
      pieces[pieces.length - 1] += char;
    }
  }
  return pieces;
}

/** Words of `text` before WordPiece, as `BasicTokenizer.tokenize` returns them. */
export function basicTokenize(text: string, options: BasicTokenizerOptions): string[] {
  let cleaned = options.cleanText ? cleanText(text) : text;
  if (options.tokenizeChineseChars) cleaned = spaceChineseChars(cleaned);
  // NFC so that one character written with different code points tokenizes the same.
  const words = splitOnWhitespace(cleaned.normalize('NFC'));
  const pieces: string[] = [];
  for (let word of words) {
    if (!options.neverSplit.has(word)) {
      if (options.doLowerCase) {
        word = word.toLowerCase();
        if (options.stripAccents !== false) word = stripAccents(word);
      } else if (options.stripAccents) {
        word = stripAccents(word);
      }
    }
    // As transformers, the never-split check runs again on the lower-cased word.
    if (options.neverSplit.has(word)) pieces.push(word);
    else pieces.push(...splitOnPunctuation(word));
  }
  // Stripping accents can leave a word empty (a lone combining mark): re-split drops it.
  return splitOnWhitespace(pieces.join(' '));
}
