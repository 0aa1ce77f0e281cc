import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fuzzRuns } from '@vitkit/test-support';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { localFolderFiles } from '../hub/local-folder.js';
import { Tensor } from '../tensor/tensor.js';
import { loadWeights } from './load-weights.js';
import { writeSafetensors } from './safetensors.js';
import { parseShardIndex } from './shard-index.js';
import { FuzzOutcomes } from './test-support/fuzz-outcome.js';

// model.safetensors.index.json: every input ends in a weight map (or a loaded store) or a
// VitkitError, never another exception.
const RUNS = fuzzRuns(1000);
const outcomes = new FuzzOutcomes();
const dir = mkdtempSync(join(tmpdir(), 'vitkit-shard-fuzz-'));
writeFileSync(join(dir, 'config.json'), '{}');
writeFileSync(join(dir, 'model-00001-of-00001.safetensors'), writeSafetensors({ 'a.weight': Tensor.zeros('float32', [2]) }));

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  console.info(`shard index fuzz: ${JSON.stringify(Object.fromEntries(outcomes.codes))}, slowest ${outcomes.slowestMs.toFixed(1)} ms`);
  expect(outcomes.slowestMs).toBeLessThan(1000);
});

const shardName = fc.oneof(
  { arbitrary: fc.constant('model-00001-of-00001.safetensors'), weight: 4 },
  fc.constantFrom('../etc/passwd', '/abs.safetensors', 'a\\b', 'missing.safetensors', '', 'model.safetensors.index.json'),
  fc.string({ maxLength: 10 }),
);
const tensorName = fc.oneof(
  { arbitrary: fc.constant('a.weight'), weight: 3 },
  fc.constantFrom('__proto__', 'constructor', ''),
  fc.string({ maxLength: 8 }),
);
const index = fc.oneof(
  fc.record({
    metadata: fc.jsonValue({ maxDepth: 2 }),
    weight_map: fc.dictionary(tensorName, fc.oneof({ arbitrary: shardName, weight: 5 }, fc.jsonValue({ maxDepth: 2 })), { maxKeys: 5 }),
  }),
  fc.record({ weight_map: fc.jsonValue({ maxDepth: 3 }) }),
  fc.jsonValue({ maxDepth: 3 }),
);
/** Index text: valid JSON of the above, or that text cut or with a byte changed. */
const text = fc.tuple(index, fc.option(fc.tuple(fc.nat(), fc.string({ maxLength: 2 })), { freq: 3 })).map(([value, damage]) => {
  const json = JSON.stringify(value) ?? 'null';
  if (!damage) return json;
  const at = damage[0] % (json.length + 1);
  return json.slice(0, at) + damage[1] + json.slice(at + 1);
});

// A long run (`pnpm fuzz`) takes minutes a property; the default timeout is for CI's few thousand.
describe('shard index fuzz', { timeout: 120_000 + 10 * RUNS }, () => {
  it('parses arbitrary index text into a weight map of strings, or says why not', () => {
    fc.assert(
      fc.property(fc.oneof(text, fc.string({ maxLength: 64 })), (t) => {
        const map = outcomes.run(() => parseShardIndex(t, 'fuzz/model.safetensors.index.json'));
        if (map) for (const shard of map.values()) expect(typeof shard).toBe('string');
      }),
      { numRuns: 2 * RUNS },
    );
  });

  it('loads a checkpoint through an arbitrary index, or says why not', async () => {
    await fc.assert(
      fc.asyncProperty(text, async (t) => {
        writeFileSync(join(dir, 'model.safetensors.index.json'), t);
        const store = await outcomes.runAsync(() => loadWeights(localFolderFiles(dir)));
        // An index naming no shard loads an empty store; one naming the shard reads its tensor.
        if (store?.has('a.weight')) expect(store.get('a.weight').shape).toEqual([2]);
      }),
      { numRuns: Math.ceil(RUNS / 4) },
    );
  });
});
