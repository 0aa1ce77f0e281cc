import { VitkitError } from '../errors/vitkit-error.js';
import { DEFAULT_MAX_IMAGE_PIXELS } from '../image/image-source.js';

/**
 * A size option as HF normalises it (`get_size_dict`): exactly one of these key sets.
 * Sizes are (height, width) throughout this folder, as in transformers.
 */
export type SizeDict =
  | { height: number; width: number }
  | { shortest_edge: number }
  | { shortest_edge: number; longest_edge: number }
  | { longest_edge: number }
  | { max_height: number; max_width: number };

const VALID_KEY_SETS = [
  ['height', 'width'],
  ['shortest_edge'],
  ['longest_edge', 'shortest_edge'],
  ['longest_edge'],
  ['max_height', 'max_width'],
];

/**
 * transformers' `get_size_dict`: an int means a square (or the shortest edge when
 * `defaultToSquare` is false), a pair is (height, width), a dict must use one valid key set.
 */
export function toSizeDict(size: unknown, param: string, defaultToSquare: boolean, maxSize?: number | null): SizeDict {
  return checkArea(sizeDictOf(size, param, defaultToSquare, maxSize), param);
}

function sizeDictOf(size: unknown, param: string, defaultToSquare: boolean, maxSize?: number | null): SizeDict {
  if (maxSize != null) checkSide(maxSize, 'max_size');
  if (typeof size === 'number') {
    checkSide(size, param);
    if (defaultToSquare) {
      if (maxSize != null) throw invalid(`${param} is a single number meaning a square, which contradicts max_size ${maxSize}.`);
      return { height: size, width: size };
    }
    return maxSize != null ? { shortest_edge: size, longest_edge: maxSize } : { shortest_edge: size };
  }
  if (Array.isArray(size)) {
    if (size.length !== 2) throw invalid(`${param} as a list must be [height, width], got ${JSON.stringify(size)}.`);
    return { height: checkSide(size[0], param), width: checkSide(size[1], param) };
  }
  if (size == null) {
    if (maxSize != null && !defaultToSquare) return { longest_edge: maxSize };
    throw invalid(`${param} is missing.`);
  }
  if (typeof size !== 'object') throw invalid(`${param} must be a number, [height, width] or an object, got ${JSON.stringify(size)}.`);
  const keys = Object.keys(size).sort();
  if (!VALID_KEY_SETS.some((set) => set.length === keys.length && set.every((k, i) => k === keys[i]))) {
    throw invalid(
      `${param} has keys {${keys.join(', ')}}, which contradict or are not understood; use one of ${VALID_KEY_SETS.map((s) => `{${s.join(', ')}}`).join(', ')}.`,
    );
  }
  for (const k of keys) checkSide((size as Record<string, unknown>)[k], `${param}.${k}`);
  return size as SizeDict;
}

/**
 * The smallest image a size asks for (a pair's height x width; an edge's square) must be within
 * the decoded-image pixel limit, so a config can never make preprocessing allocate more than the
 * largest image `loadImage` accepts by default (a crop of 1e6 x 1e6 would otherwise be attempted).
 */
function checkArea(size: SizeDict, param: string): SizeDict {
  const pairs: [number, number][] = [];
  if ('height' in size) pairs.push([size.height, size.width]);
  if ('max_height' in size) pairs.push([size.max_height, size.max_width]);
  if ('shortest_edge' in size) pairs.push([size.shortest_edge, size.shortest_edge]);
  if ('longest_edge' in size && !('shortest_edge' in size)) pairs.push([size.longest_edge, size.longest_edge]);
  for (const [a, b] of pairs) {
    if (a * b > DEFAULT_MAX_IMAGE_PIXELS) {
      throw invalid(
        `${param} ${JSON.stringify(size)} asks for an image of at least ${a} x ${b} pixels, over the limit of ${DEFAULT_MAX_IMAGE_PIXELS} (DEFAULT_MAX_IMAGE_PIXELS).`,
      );
    }
  }
  return size;
}

/** The pixels of a planned output (height x width), refused over the limit before anything is allocated. */
export function checkOutputSize(height: number, width: number, what: string): void {
  if (!(height * width <= DEFAULT_MAX_IMAGE_PIXELS)) {
    throw new VitkitError(
      'IMAGE_TOO_LARGE',
      `${what} would be ${width}x${height} = ${width * height} pixels, over the limit of ${DEFAULT_MAX_IMAGE_PIXELS} (DEFAULT_MAX_IMAGE_PIXELS); use a smaller image or size.`,
    );
  }
}

function checkSide(value: unknown, param: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw invalid(`${param} must be a positive integer, got ${JSON.stringify(value)}.`);
  }
  if (value > DEFAULT_MAX_IMAGE_PIXELS)
    throw invalid(`${param} is ${value}, more than the ${DEFAULT_MAX_IMAGE_PIXELS} pixels an image may have.`);
  return value;
}

function invalid(message: string): VitkitError {
  return new VitkitError('PROCESSOR_CONFIG_INVALID', message);
}

/**
 * transformers' `get_resize_output_image_size` for an int size without `default_to_square`: the
 * short side becomes `size`, the long side `int(size * long / short)` (truncated), optionally capped.
 */
export function shortestEdgeOutputSize(height: number, width: number, size: number, maxSize?: number): [number, number] {
  const [short, long] = width <= height ? [width, height] : [height, width];
  let newShort = size;
  let newLong = Math.trunc((size * long) / short);
  if (maxSize !== undefined) {
    if (maxSize <= size) throw invalid(`max_size (${maxSize}) must be larger than the shortest edge (${size}).`);
    if (newLong > maxSize) {
      newShort = Math.trunc((maxSize * newShort) / newLong);
      newLong = maxSize;
    }
  }
  return width <= height ? [newLong, newShort] : [newShort, newLong];
}

/** Python's round(): halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * DETR's `get_size_with_aspect_ratio`: short side to `size` unless that pushes the long side past
 * `maxSize`, in which case the short side becomes round(maxSize * short / long) and the other side is
 * computed from the unrounded value, so the long side lands on maxSize instead of one pixel short.
 */
export function detrOutputSize(height: number, width: number, size: number, maxSize?: number): [number, number] {
  let rawSize: number | undefined;
  if (maxSize !== undefined) {
    const minOriginal = Math.min(height, width);
    const maxOriginal = Math.max(height, width);
    if ((maxOriginal / minOriginal) * size > maxSize) {
      rawSize = (maxSize * minOriginal) / maxOriginal;
      size = roundHalfEven(rawSize);
    }
  }
  if ((height <= width && height === size) || (width <= height && width === size)) return [height, width];
  if (width < height) {
    const oh = rawSize !== undefined ? Math.trunc((rawSize * height) / width) : Math.trunc((size * height) / width);
    return [oh, size];
  }
  const ow = rawSize !== undefined ? Math.trunc((rawSize * width) / height) : Math.trunc((size * width) / height);
  return [size, ow];
}

/** transformers' `get_image_size_for_max_height_width`: the largest size fitting the box, aspect kept. */
export function maxHeightWidthOutputSize(height: number, width: number, maxHeight: number, maxWidth: number): [number, number] {
  const scale = Math.min(maxHeight / height, maxWidth / width);
  return [Math.trunc(height * scale), Math.trunc(width * scale)];
}
