// `vitkit bench --varied-sizes N`: one model fed N images of N different sizes in this one process,
// through the public API (AutoModel.fromPretrained, model.run), as an app serving photos does. DETR's
// processor keeps the aspect ratio, so every photo is a new input size: what that costs in memory
// (RSS after image 2 vs after image N) and in time (a size's first run vs the same size again).
import { type ModelDtype, VitkitError } from '@vitkit/core';
import { AutoModel } from '@vitkit/models';
import { benchFeeds } from './bench-inputs.js';
import { percentile, round } from './statistics.js';

/** Targets from the family contract: memory flat over sizes, a new size no dearer than a seen one. */
export const VARIED_SIZES_TARGETS = { rssRatio: 1.15, newSizeRatio: 1.2 } as const;

export interface VariedSizesOptions {
  /** Checkpoint folder or Hub id. */
  model: string;
  /** Label in the result (default: the model argument). */
  name?: string;
  /** How many images, each of its own size (≥ 2). */
  count: number;
  backend?: 'cpu' | 'webgpu' | 'cuda';
  dtype?: ModelDtype;
  threads?: number;
  /** Inclusive ranges the sizes are drawn from (default 600–1000 × 700–1100, DETR photos). */
  heights?: [number, number];
  widths?: [number, number];
  seed?: number;
  onProgress?: (label: string, done: number, total: number) => void;
}

export interface VariedSizesImage {
  height: number;
  width: number;
  /** The size's first run (its graph built and session created, on a graph per size). */
  firstMs: number;
  /** The same size again, right after. */
  repeatMs: number;
  /** Resident set after both runs. */
  rssMb: number;
}

export interface VariedSizesResult {
  model: string;
  architecture: string;
  backend: string;
  dtype: string;
  batch: 1;
  images: number;
  heights: [number, number];
  widths: [number, number];
  /** Inputs fed on every run (pixel_mask where the model declares it). */
  inputs: string[];
  /** The model's session bound (`maxSessions`) and the sessions it held at the end. */
  maxSessions: number;
  sessionsHeld: number;
  loadMs: number;
  rssAfterSecondMb: number;
  rssAfterLastMb: number;
  /** rssAfterLastMb / rssAfterSecondMb (target ≤ 1.15). */
  rssRatio: number;
  firstSeenMedianMs: number;
  repeatMedianMs: number;
  /** firstSeenMedianMs / repeatMedianMs (target ≤ 1.2). */
  newSizeRatio: number;
  targets: typeof VARIED_SIZES_TARGETS;
  durationS: number;
  perImage: VariedSizesImage[];
}

/** `count` distinct [height, width] pairs drawn from the ranges (inclusive), the same for a given seed. */
export function variedSizes(count: number, heights: [number, number], widths: [number, number], seed = 1): [number, number][] {
  const span = (r: [number, number]) => r[1] - r[0] + 1;
  if (!Number.isInteger(count) || count < 2) {
    throw new VitkitError(
      'INVALID_ARGUMENT',
      `--varied-sizes takes an integer ≥ 2 (memory is compared after image 2 and the last), got ${count}.`,
    );
  }
  for (const r of [heights, widths]) {
    if (!Number.isInteger(r[0]) || !Number.isInteger(r[1]) || r[0] < 1 || r[1] < r[0]) {
      throw new VitkitError('INVALID_ARGUMENT', `A size range is two positive integers lo-hi with lo ≤ hi, got ${r.join('-')}.`);
    }
  }
  if (count > span(heights) * span(widths)) {
    throw new VitkitError(
      'INVALID_ARGUMENT',
      `${count} different sizes do not fit in ${heights.join('–')} × ${widths.join('–')}; widen the ranges or ask for fewer.`,
    );
  }
  let s = seed >>> 0 || 1;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const seen = new Set<string>();
  const sizes: [number, number][] = [];
  while (sizes.length < count) {
    const h = heights[0] + Math.floor(next() * span(heights));
    const w = widths[0] + Math.floor(next() * span(widths));
    if (seen.has(`${h}x${w}`)) continue;
    seen.add(`${h}x${w}`);
    sizes.push([h, w]);
  }
  return sizes;
}

const rssMb = () => process.memoryUsage.rss() / 2 ** 20;

export async function runVariedSizes(o: VariedSizesOptions): Promise<VariedSizesResult> {
  const heights = o.heights ?? [600, 1000];
  const widths = o.widths ?? [700, 1100];
  const sizes = variedSizes(o.count, heights, widths, o.seed);
  const started = performance.now();
  const t0 = performance.now();
  const model = await AutoModel.fromPretrained(o.model, { device: o.backend ?? 'cpu', dtype: o.dtype ?? 'fp32', threads: o.threads });
  const loadMs = performance.now() - t0;
  const inputNames = model.inputSpecs.filter((s) => !s.optional).map((s) => s.name);
  const perImage: VariedSizesImage[] = [];
  try {
    for (const [i, [height, width]] of sizes.entries()) {
      // As the processor makes them for one photo: pixel_values, and (DETR) a pixel_mask of ones.
      const inputs = benchFeeds(model.inputSpecs, 1, height, width, 42 + i);
      o.onProgress?.(`${height}×${width}: first run`, i, sizes.length);
      let t = performance.now();
      await model.run(inputs);
      const firstMs = performance.now() - t;
      o.onProgress?.(`${height}×${width}: again`, i, sizes.length);
      t = performance.now();
      await model.run(inputs);
      const repeatMs = performance.now() - t;
      perImage.push({ height, width, firstMs: round(firstMs), repeatMs: round(repeatMs), rssMb: round(rssMb(), 0) });
    }
    const firstSeen = percentile(
      perImage.map((p) => p.firstMs),
      50,
    );
    const repeat = percentile(
      perImage.map((p) => p.repeatMs),
      50,
    );
    const second = perImage[1].rssMb;
    const last = perImage[perImage.length - 1].rssMb;
    return {
      model: o.name ?? o.model,
      architecture: model.architecture,
      backend: o.backend ?? 'cpu',
      dtype: o.dtype ?? 'fp32',
      batch: 1,
      images: sizes.length,
      heights,
      widths,
      inputs: inputNames,
      maxSessions: model.maxSessions,
      sessionsHeld: model.sessionCount,
      loadMs: round(loadMs),
      rssAfterSecondMb: second,
      rssAfterLastMb: last,
      rssRatio: round(last / second, 3),
      firstSeenMedianMs: round(firstSeen),
      repeatMedianMs: round(repeat),
      newSizeRatio: round(firstSeen / repeat, 3),
      targets: VARIED_SIZES_TARGETS,
      durationS: round((performance.now() - started) / 1000, 1),
      perImage,
    };
  } finally {
    await model.dispose();
  }
}
