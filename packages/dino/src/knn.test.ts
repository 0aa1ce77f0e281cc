import { VitkitError } from '@vitkit/core';
import { describe, expect, it } from 'vitest';
import { KnnClassifier } from './knn.js';

describe('KnnClassifier (DINO protocol)', () => {
  it('weights the k nearest by exp(cos / T) and normalises the votes', () => {
    const knn = new KnnClassifier({ k: 2, temperature: 0.5 });
    knn.add([1, 0], 'cat');
    knn.add([0, 2], 'dog'); // normalised to [0, 1]
    knn.add([-1, 0], 'car');
    const [first, second] = knn.predict([1, 1]); // cos = 0.7071 to cat and dog, -0.7071 to car (not in top 2)
    expect(first.score).toBeCloseTo(0.5, 10);
    expect(second.score).toBeCloseTo(0.5, 10);
    expect(new Set([first.label, second.label])).toEqual(new Set(['cat', 'dog']));
    const [best] = knn.predict([2, 1]);
    // cos(cat) = 0.8944, cos(dog) = 0.4472: weights e^(1.7889) and e^(0.8944)
    const wc = Math.exp(0.894427191 / 0.5);
    const wd = Math.exp(0.447213595 / 0.5);
    expect(best).toEqual({ label: 'cat', score: expect.closeTo(wc / (wc + wd), 6) });
  });

  it('sums votes of neighbours with the same label', () => {
    const knn = new KnnClassifier({ k: 3, temperature: 1 });
    knn.add([1, 0], 'a');
    knn.add([0.9, 0.1], 'a');
    knn.add([0, 1], 'b');
    expect(knn.predict([1, 0.05])[0].label).toBe('a');
    expect(knn.predict([1, 0.05])[0].score).toBeGreaterThan(0.7);
  });

  it('refuses mismatched dimensions and an empty store', () => {
    const knn = new KnnClassifier();
    expect(() => knn.predict([1])).toThrow(VitkitError);
    knn.add([1, 2, 3], 'x');
    expect(() => knn.add([1, 2], 'y')).toThrow(VitkitError);
    expect(() => knn.predict([1, 2])).toThrow(VitkitError);
  });
});
