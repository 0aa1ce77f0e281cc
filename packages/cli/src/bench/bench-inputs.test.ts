import type { InputSpec } from '@vitkit/core';
import { describe, expect, it } from 'vitest';
import { BENCH_PROMPT_IDS, benchFeeds } from './bench-inputs.js';

const IMAGE: InputSpec = { name: 'pixel_values', dtype: 'float32', shape: ['batch', 3, 'height', 'width'] };

describe('benchFeeds', () => {
  it("feeds an image + text model (Grounding DINO's inputs): seeded pixels, masks of ones, the bench prompt's ids, types 0", () => {
    const specs: InputSpec[] = [
      IMAGE,
      { name: 'pixel_mask', dtype: 'int64', shape: ['batch', 'height', 'width'] },
      { name: 'input_ids', dtype: 'int64', shape: ['batch', 'sequence'] },
      { name: 'attention_mask', dtype: 'int64', shape: ['batch', 'sequence'] },
      { name: 'token_type_ids', dtype: 'int64', shape: ['batch', 'sequence'] },
    ];
    const feeds = benchFeeds(specs, 2, 8, 12);
    const n = BENCH_PROMPT_IDS.length;
    expect(feeds.pixel_values.shape).toEqual([2, 3, 8, 12]);
    expect(new Set(feeds.pixel_mask.data as BigInt64Array)).toEqual(new Set([1n]));
    expect(feeds.input_ids.shape).toEqual([2, n]);
    expect(Array.from(feeds.input_ids.data as BigInt64Array, Number)).toEqual([...BENCH_PROMPT_IDS, ...BENCH_PROMPT_IDS]);
    expect(new Set(feeds.attention_mask.data as BigInt64Array)).toEqual(new Set([1n]));
    expect(new Set(feeds.token_type_ids.data as BigInt64Array)).toEqual(new Set([0n]));
    // Seeded: the same pixels each time.
    expect(benchFeeds(specs, 2, 8, 12).pixel_values.data).toEqual(feeds.pixel_values.data);
  });

  it('refuses an input it cannot make honestly', () => {
    expect(() => benchFeeds([IMAGE, { name: 'boxes', dtype: 'float32', shape: ['batch', 4] }], 1, 8, 8)).toThrow(/cannot make "boxes"/);
    expect(() => benchFeeds([{ name: 'input_ids', dtype: 'int64', shape: ['batch', 'tokens'] }], 1, 8, 8)).toThrow(
      /INPUT_INVALID|cannot make/,
    );
  });
});
