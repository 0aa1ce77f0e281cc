import { type InputSpec, Tensor, VitkitError } from '@vitkit/core';
import { randomTensor } from './random-tensor.js';

/**
 * The prompt a text-conditioned detector is timed on: "a cat. a remote control." as bert-base-uncased
 * tokenizes it ([CLS] a cat . a remote control . [SEP]), the example of Grounding DINO's model card.
 */
export const BENCH_PROMPT_IDS: readonly number[] = [101, 1037, 4937, 1012, 1037, 6556, 2491, 1012, 102];

/**
 * What the bench feeds a graph: seeded pixels, and each other required input the model declares as
 * its processor would make it for unpadded images (masks of ones) and, for a text-conditioned model,
 * the token ids of `BENCH_PROMPT_IDS` (token types 0). Anything else is refused with a typed error
 * rather than timed on made-up values.
 */
export function benchFeeds(specs: readonly InputSpec[], batch: number, height: number, width: number, seed = 42): Record<string, Tensor> {
  const dims: Record<string, number> = { batch, height, width, sequence: BENCH_PROMPT_IDS.length };
  const feeds: Record<string, Tensor> = {};
  for (const spec of specs) {
    if (spec.optional) continue;
    const shape = spec.shape.map((d) => (typeof d === 'number' ? d : dims[d]));
    const size = shape.reduce((a, b) => a * b, 1);
    const refuse = () =>
      new VitkitError(
        'INPUT_INVALID',
        `The bench feeds pixels, masks and a fixed prompt's token ids; it cannot make "${spec.name}" (${spec.dtype} [${spec.shape.join(', ')}]).`,
      );
    if (shape.some((d) => d === undefined)) throw refuse();
    const filled = (value: number) =>
      spec.dtype === 'int64'
        ? new Tensor('int64', new BigInt64Array(size).fill(BigInt(value)), shape)
        : spec.dtype === 'float32'
          ? new Tensor('float32', new Float32Array(size).fill(value), shape)
          : undefined;
    let feed: Tensor | undefined;
    if (spec.name === 'pixel_values' && spec.dtype === 'float32') feed = randomTensor(shape, seed, 1);
    else if (spec.name.endsWith('_mask')) feed = filled(1);
    else if (spec.name === 'token_type_ids') feed = filled(0);
    else if (spec.name === 'input_ids' && spec.dtype === 'int64' && shape.length === 2) {
      const ids = new BigInt64Array(size);
      for (let i = 0; i < size; i++) ids[i] = BigInt(BENCH_PROMPT_IDS[i % BENCH_PROMPT_IDS.length]);
      feed = new Tensor('int64', ids, shape);
    }
    if (!feed) throw refuse();
    feeds[spec.name] = feed;
  }
  return feeds;
}
