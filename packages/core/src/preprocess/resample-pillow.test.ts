import { describe, expect, it } from 'vitest';
import { RgbImage } from '../image/rgb-image.js';
import { computeResizeCoefficients, Resample, resamplePillow, resizeRgb } from './resample-pillow.js';

const ONE = 1 << 22;

function noise(length: number, seed = 7): Uint8Array {
  const out = new Uint8Array(length);
  let s = seed;
  for (let i = 0; i < length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

describe('computeResizeCoefficients', () => {
  it('widens the kernel by the scale when shrinking and not when enlarging', () => {
    // Bicubic support 2: enlarging keeps ceil(2)*2+1 taps; shrinking 3x makes it ceil(6)*2+1.
    expect(computeResizeCoefficients(10, 20, Resample.BICUBIC).ksize).toBe(5);
    expect(computeResizeCoefficients(30, 10, Resample.BICUBIC).ksize).toBe(13);
    expect(computeResizeCoefficients(30, 10, Resample.BILINEAR).ksize).toBe(7);
  });

  it('normalises each output to 1.0 in 22-bit fixed point, up to per-tap rounding', () => {
    for (const filter of [Resample.BOX, Resample.BILINEAR, Resample.HAMMING, Resample.BICUBIC, Resample.LANCZOS]) {
      for (const [inSize, outSize] of [
        [97, 224],
        [640, 256],
        [61, 88],
        [7, 3],
      ]) {
        const { ksize, bounds, weights } = computeResizeCoefficients(inSize, outSize, filter);
        for (let o = 0; o < outSize; o++) {
          const [start, count] = [bounds[o * 2], bounds[o * 2 + 1]];
          expect(start).toBeGreaterThanOrEqual(0);
          expect(start + count).toBeLessThanOrEqual(inSize);
          let sum = 0;
          for (let k = 0; k < ksize; k++) sum += weights[o * ksize + k];
          expect(Math.abs(sum - ONE)).toBeLessThanOrEqual(ksize);
        }
      }
    }
  });

  it('puts a 2x bilinear enlargement at Pillow pixel centres (weights 3/4 and 1/4)', () => {
    const { ksize, bounds, weights } = computeResizeCoefficients(4, 8, Resample.BILINEAR);
    // Output 3 has centre 1.75 in input space: between input 1 (distance .25) and 2 (distance .75).
    const taps = Array.from(weights.subarray(3 * ksize, 3 * ksize + bounds[7]));
    const at = (i: number) => taps[i - bounds[6]];
    expect(at(1)).toBe(Math.trunc(0.75 * ONE + 0.5));
    expect(at(2)).toBe(Math.trunc(0.25 * ONE + 0.5));
  });
});

describe('resamplePillow', () => {
  it('returns an unchanged copy when the size does not change', () => {
    const src = noise(5 * 4 * 3);
    const out = resamplePillow(src, 5, 4, 3, 5, 4, Resample.BICUBIC);
    expect(out).not.toBe(src);
    expect(out).toEqual(src);
  });

  it('skips the vertical pass when only the width changes (rows resampled independently)', () => {
    const width = 23;
    const height = 4;
    const src = noise(width * height * 3);
    const out = resamplePillow(src, width, height, 3, 9, height, Resample.BICUBIC);
    for (let y = 0; y < height; y++) {
      const row = resamplePillow(src.subarray(y * width * 3, (y + 1) * width * 3), width, 1, 3, 9, 1, Resample.BICUBIC);
      expect(out.subarray(y * 27, (y + 1) * 27)).toEqual(row);
    }
  });

  it('treats channels identically: RGB equals three separately resized gray planes', () => {
    const [w, h, ow, oh] = [31, 17, 12, 40];
    const rgb = noise(w * h * 3, 3);
    const out = resamplePillow(rgb, w, h, 3, ow, oh, Resample.LANCZOS);
    for (let c = 0; c < 3; c++) {
      const plane = new Uint8Array(w * h);
      for (let i = 0; i < w * h; i++) plane[i] = rgb[i * 3 + c];
      const resized = resamplePillow(plane, w, h, 1, ow, oh, Resample.LANCZOS);
      for (let i = 0; i < ow * oh; i++) expect(out[i * 3 + c]).toBe(resized[i]);
    }
  });

  it('keeps a flat image flat and clips overshoot to 0..255', () => {
    const flat = new Uint8Array(20 * 20 * 3).fill(200);
    expect(resamplePillow(flat, 20, 20, 3, 7, 33, Resample.BICUBIC).every((v) => v === 200)).toBe(true);
    // A hard black/white edge makes bicubic and lanczos ring past the range: results must clip, not wrap.
    const edge = new Uint8Array(16 * 3);
    edge.fill(255, 8 * 3);
    const up = resamplePillow(edge, 16, 1, 3, 64, 1, Resample.LANCZOS);
    expect(up.includes(0) && up.includes(255)).toBe(true);
    const monotoneAfterEdge = Array.from(up.subarray(0, 20 * 3));
    expect(monotoneAfterEdge.every((v) => v <= 10)).toBe(true);
  });

  it('NEAREST picks floor((i + 0.5) * in / out), as Pillow does', () => {
    const src = Uint8Array.from({ length: 5 }, (_, i) => i * 10);
    expect(Array.from(resamplePillow(src, 5, 1, 1, 3, 1, Resample.NEAREST))).toEqual([0, 20, 40]);
    expect(Array.from(resamplePillow(src, 5, 1, 1, 8, 1, Resample.NEAREST))).toEqual([0, 0, 10, 20, 20, 30, 40, 40]);
  });

  it('rejects impossible sizes and unknown filters', () => {
    expect(() => resamplePillow(noise(12), 2, 2, 3, 0, 4, Resample.BILINEAR)).toThrow(/positive integers/);
    expect(() => resamplePillow(noise(12), 2, 2, 3, 3, 3, 9 as Resample)).toThrow(/Unknown resample filter/);
    expect(() => resamplePillow(noise(11), 2, 2, 3, 3, 3, Resample.BILINEAR)).toThrow(/expected 2x2x3/);
  });

  it('resizeRgb wraps it for RgbImage', () => {
    const image = new RgbImage(noise(8 * 6 * 3), 8, 6);
    const out = resizeRgb(image, 4, 3, Resample.BOX);
    expect([out.width, out.height]).toEqual([4, 3]);
    // BOX halving: each pass averages a pair and rounds half up (the fixed-point bias), rows first.
    const half = (a: number, b: number) => Math.floor((a + b + 1) / 2);
    for (let c = 0; c < 3; c++) {
      const top = half(image.pixel(2, 2)[c], image.pixel(3, 2)[c]);
      const bottom = half(image.pixel(2, 3)[c], image.pixel(3, 3)[c]);
      expect(out.pixel(1, 1)[c]).toBe(half(top, bottom));
    }
  });
});

describe('resize windows', () => {
  it('computing only a window gives the same bytes as a full resize then crop, for every filter', () => {
    const [w, h] = [53, 41];
    const src = noise(w * h * 3, 11);
    const full = new RgbImage(src, w, h);
    for (const filter of [Resample.NEAREST, Resample.BOX, Resample.BILINEAR, Resample.HAMMING, Resample.BICUBIC, Resample.LANCZOS]) {
      for (const [ow, oh] of [
        [30, 20],
        [53, 20],
        [30, 41],
        [120, 90],
        [53, 41],
      ]) {
        const window = { left: 3, top: 2, width: ow - 7, height: oh - 5 };
        const expected = resizeRgb(full, ow, oh, filter).crop(window.left, window.top, window.width, window.height);
        expect(resizeRgb(full, ow, oh, filter, window).data, `filter ${filter} ${ow}x${oh}`).toEqual(expected.data);
      }
    }
  });
});
