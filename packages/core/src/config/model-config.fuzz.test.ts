// Fuzz: config.json bytes, as loadPretrained reads them (parseConfigJson), then every ConfigReader
// accessor a family uses. Each input ends in a value or a VitkitError, never another exception.
// CI tries fuzzRuns(2000) inputs per property; `pnpm fuzz` (VITKIT_FUZZ_RUNS) tries more.
import { readFileSync } from 'node:fs';
import { codeOf, fuzzRuns } from '@vitkit/test-support';
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { parseConfigJson } from '../hub/config-json.js';
import { ConfigReader, readId2Label } from './model-config.js';

const FIXTURES = new URL('../../../../fixtures/', import.meta.url).pathname;
const REAL = ['dinov2/default-res', 'dinov2/classification', 'detr/resnet-basic', 'deit/with-teacher'].map(
  (dir) => new Uint8Array(readFileSync(`${FIXTURES}${dir}/config.json`)),
);
const KEYS = [...new Set(REAL.flatMap((bytes) => Object.keys(JSON.parse(new TextDecoder().decode(bytes)))))];

/** Real config bytes with some bytes replaced, some cut off, some inserted. */
const mutatedConfig = fc
  .tuple(
    fc.constantFrom(...REAL),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
    fc.option(fc.nat()),
    fc.option(fc.tuple(fc.nat(), fc.uint8Array({ maxLength: 16 }))),
  )
  .map(([bytes, edits, cut, insert]) => {
    let out = new Uint8Array(bytes);
    for (const [at, value] of edits) out[at % out.length] = value;
    if (insert) {
      const at = insert[0] % out.length;
      out = new Uint8Array([...out.subarray(0, at), ...insert[1], ...out.subarray(at)]);
    }
    return cut === null ? out : out.subarray(0, cut % (out.length + 1));
  });

/** A JSON object with the keys configs use, holding any JSON value (also deeply nested ones). */
const structuredConfig = fc
  .dictionary(fc.oneof(fc.constantFrom(...KEYS, 'id2label'), fc.string()), fc.jsonValue({ maxDepth: 4 }))
  .map((object) => new TextEncoder().encode(JSON.stringify(object)));

const deeplyNested = fc
  .integer({ min: 1, max: 100_000 })
  .map((depth) => new TextEncoder().encode(`{"hidden_size": ${'['.repeat(depth)}${']'.repeat(depth)}}`));

const anyBytes = fc.oneof(
  { weight: 3, arbitrary: fc.uint8Array({ maxLength: 256 }) },
  { weight: 3, arbitrary: mutatedConfig },
  { weight: 3, arbitrary: structuredConfig },
  { weight: 1, arbitrary: deeplyNested },
);

/** Every accessor on every key, with and without a fallback, as family config readers call them. */
function readEverything(bytes: Uint8Array): void {
  const raw = parseConfigJson(bytes, 'config.json');
  readId2Label(raw);
  const reader = new ConfigReader(raw);
  const keys = [...new Set([...KEYS, ...Object.keys(raw)])];
  for (const key of keys) {
    codeOf(() => reader.number(key));
    codeOf(() => reader.number(key, 1));
    codeOf(() => reader.int(key, 1));
    codeOf(() => reader.bool(key, false));
    codeOf(() => reader.string(key, 'x'));
    codeOf(() => reader.intArray(key, [1]));
    codeOf(() => reader.pair(key, 1));
    reader.optional(key);
  }
}

describe('config.json parsing (fuzz)', () => {
  it('ends in a config or a VitkitError for any bytes', () => {
    fc.assert(
      fc.property(anyBytes, (bytes) => {
        codeOf(() => readEverything(bytes));
      }),
      { numRuns: fuzzRuns(2000) },
    );
  });
});
