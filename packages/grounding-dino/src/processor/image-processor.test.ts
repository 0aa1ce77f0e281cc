import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GroundingDinoImageProcessor, type PreprocessorConfig, RgbImage } from '@vitkit/core';
import { describe, expect, it } from 'vitest';
import { groundingDinoImageProcessor } from './image-processor.js';

const fixture = fileURLToPath(new URL('../../../../fixtures/grounding_dino/swin-bert-tiny/', import.meta.url));
const processorConfig = JSON.parse(readFileSync(`${fixture}processor_config.json`, 'utf8')) as PreprocessorConfig;

/** An image of one colour, so every resized pixel keeps it. */
const solid = (width: number, height: number, rgb: [number, number, number]) => {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(rgb, i * 3);
  return new RgbImage(data, width, height);
};

describe('GroundingDinoImageProcessor from the fixture processor_config.json (transformers v5 layout)', () => {
  it('reads the nested image processor: shortest edge 64, longest 96, ImageNet mean/std, padding', () => {
    const processor = groundingDinoImageProcessor(processorConfig);
    expect(processor).toBeInstanceOf(GroundingDinoImageProcessor);
    expect(processor.type).toBe('GroundingDinoImageProcessor');
    expect(processor.options).toMatchObject({
      size: { shortest_edge: 64, longest_edge: 96 },
      doPad: true,
      imageMean: [0.485, 0.456, 0.406],
      imageStd: [0.229, 0.224, 0.225],
    });
  });

  it('pads a batch of two sizes to the largest, with a pixel mask of the real pixels', () => {
    const processor = groundingDinoImageProcessor(processorConfig);
    // 600x480 -> shortest edge 64: 80x64. 400x200 (2:1) would be 128 wide, over 96, so the longest
    // edge caps it: 96x48.
    const colour: [number, number, number] = [124, 116, 104];
    const { pixel_values: pixels, pixel_mask: mask } = processor.processImages([solid(600, 480, colour), solid(400, 200, colour)]);
    expect(pixels.shape).toEqual([2, 3, 64, 96]);
    expect(mask?.dtype).toBe('int64');
    expect(mask?.shape).toEqual([2, 64, 96]);
    const m = Array.from(mask?.data ?? [], Number);
    const at = (b: number, y: number, x: number) => m[(b * 64 + y) * 96 + x];
    expect([at(0, 63, 79), at(0, 63, 80), at(0, 0, 95)]).toEqual([1, 0, 0]);
    expect([at(1, 47, 95), at(1, 48, 0), at(1, 63, 95)]).toEqual([1, 0, 0]);
    expect(m.reduce((s, v) => s + v, 0)).toBe(64 * 80 + 48 * 96);

    const v = pixels.data;
    const plane = 64 * 96;
    const normalized = (c: number) => (colour[c] / 255 - [0.485, 0.456, 0.406][c]) / [0.229, 0.224, 0.225][c];
    for (let c = 0; c < 3; c++) {
      // Image 0 inside, image 0 padding, image 1 inside, image 1 padding.
      expect(v[c * plane + 10 * 96 + 10]).toBeCloseTo(normalized(c), 5);
      expect(v[c * plane + 10 * 96 + 90]).toBe(0);
      expect(v[(3 + c) * plane + 40 * 96 + 90]).toBeCloseTo(normalized(c), 5);
      expect(v[(3 + c) * plane + 50 * 96 + 10]).toBe(0);
    }
  });

  it('defaults to the reference constructor: shortest 800, longest 1333 (800x1066 for a 640x480 image)', () => {
    const processor = groundingDinoImageProcessor();
    expect(processor.options.size).toEqual({ shortest_edge: 800, longest_edge: 1333 });
    expect(processor.processImages(solid(640, 480, [0, 0, 0])).pixel_values.shape).toEqual([1, 3, 800, 1066]);
  });
});
