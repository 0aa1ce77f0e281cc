import { type InputSpec, Tensor, VitkitError } from '@vitkit/core';
import { randomTensor } from './random-tensor.js';

/**
 * What the bench feeds a graph: seeded pixels, and each other required input the model declares as
 * its processor would make it for unpadded images (a pixel mask of ones). A model needing other inputs
 * (token ids) is refused with a typed error rather than timed on made-up ones.
 */
export function benchFeeds(specs: readonly InputSpec[], batch: number, height: number, width: number, seed = 42): Record<string, Tensor> {
  const dims: Record<string, number> = { batch, height, width };
  const feeds: Record<string, Tensor> = {};
  for (const spec of specs) {
    if (spec.optional) continue;
    const shape = spec.shape.map((d) => (typeof d === 'number' ? d : dims[d]));
    if (shape.some((d) => d === undefined) || spec.dtype !== 'float32' || (spec.name !== 'pixel_values' && !spec.name.endsWith('_mask'))) {
      throw new VitkitError(
        'INPUT_INVALID',
        `The bench feeds pixel values and pixel masks; it cannot make "${spec.name}" (${spec.dtype} [${spec.shape.join(', ')}]).`,
      );
    }
    feeds[spec.name] =
      spec.name === 'pixel_values'
        ? randomTensor(shape, seed, 1)
        : new Tensor('float32', new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(1), shape);
  }
  return feeds;
}
