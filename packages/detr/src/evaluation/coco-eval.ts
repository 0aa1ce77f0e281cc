import { VitkitError } from '@vitkit/core';

/** A ground-truth object of one image. */
export interface CocoGroundTruth {
  label: number;
  /** In `boxFormat` (corners by default), pixels. */
  box: ArrayLike<number>;
  /**
   * A crowd region: detections inside it are neither true nor false positives, and several may
   * land on it. Default false.
   */
  iscrowd?: boolean;
  /** Area used for the small/medium/large split; COCO uses the segmentation area. Default: box area. */
  area?: number;
}

/** A detection of one image; `postProcessObjectDetection`'s `detections` fit as they are. */
export interface CocoDetection {
  label: number;
  score: number;
  /** In `boxFormat` (corners by default), pixels. */
  box: ArrayLike<number>;
}

export interface CocoImage {
  groundTruth: readonly CocoGroundTruth[];
  detections: readonly CocoDetection[];
}

export interface CocoEvaluationOptions {
  /** `'xyxy'` corners (what DETR post-processing gives, default) or COCO's `'xywh'` (left, top, width, height). */
  boxFormat?: 'xyxy' | 'xywh';
  /** The three detection caps for AR@1/10/100 (the last also caps AP). Default [1, 10, 100]. */
  maxDets?: readonly [number, number, number];
  /** Match only within a category (true, default) or pool all labels as one category (pycocotools' `useCats = 0`). */
  useCategories?: boolean;
  /**
   * The category ids evaluated, as pycocotools' `params.catIds` (sorted, de-duplicated). Default: the
   * labels that have ground truth. A listed category without ground truth stays -1 and drops out of
   * the means; labels not listed are left out.
   */
  categories?: readonly number[];
}

/** COCOeval's 12 summary numbers; -1 where no ground truth falls in the slice. */
export interface CocoMetrics {
  /** AP averaged over IoU 0.50:0.05:0.95, all areas, `maxDets[2]` detections. */
  ap: number;
  ap50: number;
  ap75: number;
  /** Area < 32². */
  apSmall: number;
  /** 32² ≤ area < 96². */
  apMedium: number;
  /** Area ≥ 96². */
  apLarge: number;
  /** Recall averaged over IoU 0.50:0.95 with at most `maxDets[0]` detections per image and category. */
  ar1: number;
  ar10: number;
  ar100: number;
  arSmall: number;
  arMedium: number;
  arLarge: number;
}

/**
 * One category's numbers, as detectron2 and mmdetection report them from COCOeval's arrays (-1: no
 * ground truth): its AP slices as in `CocoMetrics`, its recall at each maxDet.
 */
export interface CocoCategoryMetrics extends Pick<CocoMetrics, 'ap' | 'ap50' | 'ap75' | 'apSmall' | 'apMedium' | 'apLarge'> {
  /** Recall averaged over IoU 0.50:0.95, all areas, at each maxDet (in `maxDets` order). */
  ar: number[];
  /** Ground truths that count (not crowd), all areas. */
  groundTruths: number;
}

export interface CocoEvaluation extends CocoMetrics {
  /**
   * pycocotools' `COCOeval.stats`, quirk included: `stats[0]` is asked for at maxDets = 100, so it is
   * -1 when `maxDets` lacks 100 (while `ap` is the AP at the largest maxDet either way).
   */
  stats: number[];
  /** The maxDets used, ascending. */
  maxDets: number[];
  /** The category ids evaluated, in the order of the arrays' category axis (empty when not by category). */
  categories: number[];
  /** Per category id: AP@[.50:.95], all areas, `maxDets[2]` (-1 when it has no ground truth). */
  perCategoryAp: Map<number, number>;
  perCategory: Map<number, CocoCategoryMetrics>;
  /** COCOeval's `eval['precision']`, [iouThresholds 10, recallThresholds 101, categories, areas 4, maxDets 3], row-major. */
  precision: Float64Array;
  /** COCOeval's `eval['recall']`, [iouThresholds 10, categories, areas 4, maxDets 3], row-major. */
  recall: Float64Array;
}

/** pycocotools' `params.iouThrs` and `params.recThrs`, as numpy computes them. */
export const COCO_IOU_THRESHOLDS: readonly number[] = linspace(0.5, 0.95, 10);
export const COCO_RECALL_THRESHOLDS: readonly number[] = linspace(0, 1, 101);

/**
 * IoU thresholds and recall points exactly as numpy's `linspace` gives them to pycocotools
 * (`i * step + start`, last = stop): 0.6 is 0.6 but 0.9 is 0.8999999999999999, and which side of
 * the threshold an IoU falls on depends on that.
 */
function linspace(start: number, stop: number, num: number): number[] {
  const step = (stop - start) / (num - 1);
  return Array.from({ length: num }, (_, i) => (i === num - 1 ? stop : i * step + start));
}

const IOU_THRESHOLDS = COCO_IOU_THRESHOLDS;
const RECALL_THRESHOLDS = COCO_RECALL_THRESHOLDS;
/** all, small, medium, large, as [min, max] areas (inclusive at both ends, as pycocotools). */
const AREA_RANGES: readonly (readonly [number, number])[] = [
  [0, 1e10],
  [0, 32 ** 2],
  [32 ** 2, 96 ** 2],
  [96 ** 2, 1e10],
];
/** np.spacing(1): keeps precision finite when there are no counted detections yet. */
const EPSILON = 2.220446049250313e-16;

interface PreparedBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  /** Box area (width * height): what IoU uses. */
  boxArea: number;
}
interface PreparedGroundTruth extends PreparedBox {
  crowd: boolean;
  area: number;
}
interface PreparedDetection extends PreparedBox {
  score: number;
}

/** One image and category at one area range, after greedy matching (pycocotools' `evaluateImg`). */
interface ImageEvaluation {
  /** Detection scores, highest first, capped at the largest maxDet. */
  scores: number[];
  /** [threshold][detection]: matched to a ground truth. */
  matched: Uint8Array[];
  /** [threshold][detection]: neither true nor false positive. */
  ignored: Uint8Array[];
  /** How many ground truths count (not crowd, area in range). */
  countedGroundTruths: number;
}

/**
 * COCO box AP/AR over a set of images, following pycocotools' `COCOeval` (bbox) definitions:
 * per image and category, detections (highest score first, at most `maxDets[2]`) are matched
 * greedily to the best-overlapping unmatched ground truth at each IoU threshold; crowd and
 * out-of-range ground truths are ignored, and so are detections matched to them or unmatched
 * with an out-of-range area; precision is interpolated at 101 recall points after taking the
 * monotone envelope, and averaged over thresholds and categories that have ground truth.
 */
export function evaluateCoco(images: readonly CocoImage[], options: CocoEvaluationOptions = {}): CocoEvaluation {
  const boxFormat = options.boxFormat ?? 'xyxy';
  const maxDets = [...(options.maxDets ?? [1, 10, 100])].sort((a, b) => a - b);
  const useCategories = options.useCategories ?? true;
  if (maxDets.length !== 3 || maxDets.some((m) => !Number.isInteger(m) || m < 1)) {
    throw new VitkitError('INVALID_ARGUMENT', `evaluateCoco: maxDets must be three positive integers, got [${maxDets.join(', ')}].`);
  }
  const largestMaxDet = maxDets[2];

  // Categories are those with ground truth: a category without any gets -1 and drops out of
  // every mean, so detections of other labels change nothing and are left out.
  const categories = !useCategories
    ? [-1]
    : options.categories
      ? [...new Set(options.categories)].sort((a, b) => a - b)
      : [...new Set(images.flatMap((image) => image.groundTruth.map((g) => g.label)))].sort((a, b) => a - b);
  const T = IOU_THRESHOLDS.length;
  const R = RECALL_THRESHOLDS.length;
  const K = categories.length;
  const A = AREA_RANGES.length;
  const M = maxDets.length;
  const precision = new Float64Array(T * R * K * A * M).fill(-1);
  const recall = new Float64Array(T * K * A * M).fill(-1);
  const precisionAt = (t: number, r: number, k: number, a: number, m: number) => (((t * R + r) * K + k) * A + a) * M + m;
  const recallAt = (t: number, k: number, a: number, m: number) => ((t * K + k) * A + a) * M + m;

  const prepared = images.map((image, index) => prepareImage(image, index, boxFormat));

  categories.forEach((category, k) => {
    // IoUs depend on the image and category only; the area ranges reuse them.
    const perImage = prepared.map(({ groundTruth, detections }) => {
      const gts = groundTruth.filter((g) => !useCategories || g.label === category).map((g) => g.prepared);
      const dts = detections
        .filter((d) => !useCategories || d.label === category)
        .map((d) => d.prepared)
        // Stable, highest score first (numpy's mergesort of -score keeps input order on ties).
        .sort((p, q) => q.score - p.score)
        .slice(0, largestMaxDet);
      return { gts, dts, ious: dts.map((d) => gts.map((g) => boxIou(d, g))) };
    });

    AREA_RANGES.forEach((areaRange, a) => {
      const evaluations = perImage
        .map(({ gts, dts, ious }) => evaluateImage(gts, dts, ious, areaRange, largestMaxDet))
        .filter((e): e is ImageEvaluation => e !== null);
      if (evaluations.length === 0) return;
      const countedGroundTruths = evaluations.reduce((n, e) => n + e.countedGroundTruths, 0);
      if (countedGroundTruths === 0) return;

      maxDets.forEach((maxDet, m) => {
        // Pool the first maxDet detections of every image, then rank them all by score (stable,
        // so ties keep image order as numpy's mergesort does).
        const pooled: { score: number; evaluation: ImageEvaluation; index: number }[] = [];
        for (const evaluation of evaluations) {
          for (let i = 0; i < Math.min(maxDet, evaluation.scores.length); i++)
            pooled.push({ score: evaluation.scores[i], evaluation, index: i });
        }
        pooled.sort((p, q) => q.score - p.score);

        for (let t = 0; t < T; t++) {
          const recalls: number[] = [];
          const precisions: number[] = [];
          let truePositives = 0;
          let falsePositives = 0;
          for (const { evaluation, index } of pooled) {
            if (evaluation.ignored[t][index]) {
              // Ignored detections still occupy a rank: the curves repeat the previous point.
            } else if (evaluation.matched[t][index]) truePositives++;
            else falsePositives++;
            recalls.push(truePositives / countedGroundTruths);
            precisions.push(truePositives / (truePositives + falsePositives + EPSILON));
          }
          recall[recallAt(t, k, a, m)] = recalls.length > 0 ? recalls[recalls.length - 1] : 0;

          // Monotone envelope: precision at a recall is the best precision at any higher recall.
          for (let i = precisions.length - 1; i > 0; i--) if (precisions[i] > precisions[i - 1]) precisions[i - 1] = precisions[i];
          // At each recall point, the precision of the first rank reaching it (0 if never reached).
          let rank = 0;
          for (let r = 0; r < R; r++) {
            while (rank < recalls.length && recalls[rank] < RECALL_THRESHOLDS[r]) rank++;
            precision[precisionAt(t, r, k, a, m)] = rank < recalls.length ? precisions[rank] : 0;
          }
        }
      });
    });
  });

  // Mean over the entries of a slice that exist (> -1), or -1 when none does.
  const meanOfPresent = (values: number[]) => {
    const present = values.filter((v) => v > -1);
    return present.length === 0 ? -1 : present.reduce((s, v) => s + v, 0) / present.length;
  };
  const summarizePrecision = (thresholds: number[], area: number, m: number, cats = categories.map((_, k) => k)) => {
    const values: number[] = [];
    for (const t of thresholds) for (let r = 0; r < R; r++) for (const k of cats) values.push(precision[precisionAt(t, r, k, area, m)]);
    return meanOfPresent(values);
  };
  const summarizeRecall = (area: number, m: number, cats = categories.map((_, k) => k)) => {
    const values: number[] = [];
    for (let t = 0; t < T; t++) for (const k of cats) values.push(recall[recallAt(t, k, area, m)]);
    return meanOfPresent(values);
  };
  const allThresholds = IOU_THRESHOLDS.map((_, t) => t);
  const at50 = IOU_THRESHOLDS.indexOf(0.5);
  const at75 = IOU_THRESHOLDS.indexOf(0.75);
  const [ALL, SMALL, MEDIUM, LARGE] = [0, 1, 2, 3];

  const metrics: CocoMetrics = {
    ap: summarizePrecision(allThresholds, ALL, 2),
    ap50: summarizePrecision([at50], ALL, 2),
    ap75: summarizePrecision([at75], ALL, 2),
    apSmall: summarizePrecision(allThresholds, SMALL, 2),
    apMedium: summarizePrecision(allThresholds, MEDIUM, 2),
    apLarge: summarizePrecision(allThresholds, LARGE, 2),
    ar1: summarizeRecall(ALL, 0),
    ar10: summarizeRecall(ALL, 1),
    ar100: summarizeRecall(ALL, 2),
    arSmall: summarizeRecall(SMALL, 2),
    arMedium: summarizeRecall(MEDIUM, 2),
    arLarge: summarizeRecall(LARGE, 2),
  };
  const perCategory = new Map<number, CocoCategoryMetrics>(
    useCategories
      ? categories.map((category, k) => [
          category,
          {
            ap: summarizePrecision(allThresholds, ALL, 2, [k]),
            ap50: summarizePrecision([at50], ALL, 2, [k]),
            ap75: summarizePrecision([at75], ALL, 2, [k]),
            apSmall: summarizePrecision(allThresholds, SMALL, 2, [k]),
            apMedium: summarizePrecision(allThresholds, MEDIUM, 2, [k]),
            apLarge: summarizePrecision(allThresholds, LARGE, 2, [k]),
            ar: maxDets.map((_, m) => summarizeRecall(ALL, m, [k])),
            groundTruths: images.reduce((n, image) => n + image.groundTruth.filter((g) => g.label === category && !g.iscrowd).length, 0),
          },
        ])
      : [],
  );
  // summarize() asks for maxDets=100 for the first number alone (the others pass maxDets[2]).
  const at100 = maxDets.indexOf(100);
  return {
    ...metrics,
    maxDets,
    categories: useCategories ? categories : [],
    perCategoryAp: new Map([...perCategory].map(([category, c]) => [category, c.ap])),
    perCategory,
    precision,
    recall,
    stats: [
      at100 < 0 ? -1 : summarizePrecision(allThresholds, ALL, at100),
      metrics.ap50,
      metrics.ap75,
      metrics.apSmall,
      metrics.apMedium,
      metrics.apLarge,
      metrics.ar1,
      metrics.ar10,
      metrics.ar100,
      metrics.arSmall,
      metrics.arMedium,
      metrics.arLarge,
    ],
  };
}

/**
 * Greedy matching of one image and category at one area range (pycocotools' `evaluateImg`).
 * `dts` are sorted by score and `ious` is `[dts][gts]` in the given order. Returns null when the
 * image has neither ground truth nor detections of the category, so it adds nothing.
 */
function evaluateImage(
  gts: readonly PreparedGroundTruth[],
  dts: readonly PreparedDetection[],
  ious: readonly number[][],
  [minArea, maxArea]: readonly [number, number],
  maxDet: number,
): ImageEvaluation | null {
  if (gts.length === 0 && dts.length === 0) return null;
  const outOfRange = (area: number) => area < minArea || area > maxArea;
  // Counted ground truths first, ignored (crowd or out of range) last, each group in input order:
  // a detection matched to a counted one then stops before reaching ignored ones.
  const order = gts.map((g, i) => ({ i, ignore: g.crowd || outOfRange(g.area) })).sort((p, q) => Number(p.ignore) - Number(q.ignore));
  const gtIgnore = order.map((o) => o.ignore);
  const gtCrowd = order.map((o) => gts[o.i].crowd);
  const detections = dts.slice(0, maxDet);
  const T = IOU_THRESHOLDS.length;
  const matched = Array.from({ length: T }, () => new Uint8Array(detections.length));
  const ignored = Array.from({ length: T }, () => new Uint8Array(detections.length));

  if (gts.length > 0 && detections.length > 0) {
    for (let t = 0; t < T; t++) {
      const gtTaken = new Uint8Array(order.length);
      for (let d = 0; d < detections.length; d++) {
        let bestIou = Math.min(IOU_THRESHOLDS[t], 1 - 1e-10);
        let best = -1;
        for (let g = 0; g < order.length; g++) {
          // A crowd region can absorb any number of detections; a regular object only one.
          if (gtTaken[g] && !gtCrowd[g]) continue;
          // Already matched to a counted object: never trade it for an ignored one.
          if (best > -1 && !gtIgnore[best] && gtIgnore[g]) break;
          const iou = ious[d][order[g].i];
          // Ties go to the later ground truth (`<`, not `<=`), as in pycocotools.
          if (iou < bestIou) continue;
          bestIou = iou;
          best = g;
        }
        if (best === -1) continue;
        matched[t][d] = 1;
        ignored[t][d] = gtIgnore[best] ? 1 : 0;
        gtTaken[best] = 1;
      }
    }
  }
  // Unmatched detections whose own area is outside the range are not counted as false positives.
  for (let t = 0; t < T; t++) {
    for (let d = 0; d < detections.length; d++) if (!matched[t][d] && outOfRange(detections[d].boxArea)) ignored[t][d] = 1;
  }
  return { scores: detections.map((d) => d.score), matched, ignored, countedGroundTruths: gtIgnore.filter((ignore) => !ignore).length };
}

/**
 * Box IoU as pycocotools' `bbIou`: for a crowd ground truth the denominator is the detection's own
 * area (how much of the detection lies in the crowd), not the union.
 */
function boxIou(d: PreparedDetection, g: PreparedGroundTruth): number {
  const width = Math.min(d.x1, g.x1) - Math.max(d.x0, g.x0);
  if (width <= 0) return 0;
  const height = Math.min(d.y1, g.y1) - Math.max(d.y0, g.y0);
  if (height <= 0) return 0;
  const intersection = width * height;
  return intersection / (g.crowd ? d.boxArea : d.boxArea + g.boxArea - intersection);
}

function prepareBox(box: ArrayLike<number>, boxFormat: 'xyxy' | 'xywh', where: string): PreparedBox {
  if (box.length !== 4 || !Array.from(box).every(Number.isFinite)) {
    throw new VitkitError(
      'INVALID_ARGUMENT',
      `evaluateCoco: ${where} box [${Array.from(box).join(', ')}] is not four finite numbers (${boxFormat}).`,
    );
  }
  // Keep both the far corner and the size as the caller's format defines them, so xywh input is
  // computed exactly as pycocotools does (x + w) and xyxy input needs no round trip.
  if (boxFormat === 'xywh') {
    const [x, y, w, h] = [box[0], box[1], box[2], box[3]];
    return { x0: x, y0: y, x1: x + w, y1: y + h, boxArea: w * h };
  }
  const [x0, y0, x1, y1] = [box[0], box[1], box[2], box[3]];
  return { x0, y0, x1, y1, boxArea: (x1 - x0) * (y1 - y0) };
}

function prepareImage(image: CocoImage, index: number, boxFormat: 'xyxy' | 'xywh') {
  const groundTruth = image.groundTruth.map((g, i) => {
    const box = prepareBox(g.box, boxFormat, `image ${index} ground truth ${i}`);
    const prepared: PreparedGroundTruth = { ...box, crowd: g.iscrowd ?? false, area: g.area ?? box.boxArea };
    return { label: g.label, prepared };
  });
  const detections = image.detections.map((d, i) => {
    if (Number.isNaN(d.score)) throw new VitkitError('INVALID_ARGUMENT', `evaluateCoco: image ${index} detection ${i} has a NaN score.`);
    const prepared: PreparedDetection = { ...prepareBox(d.box, boxFormat, `image ${index} detection ${i}`), score: d.score };
    return { label: d.label, prepared };
  });
  return { groundTruth, detections };
}
