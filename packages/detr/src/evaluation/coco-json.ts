// COCO's own files in, pycocotools' numbers out: `COCO(gt)`, `loadRes(dt)`, `COCOeval(…, 'bbox')` with
// its params, `evaluate()`, `accumulate()`, `summarize()`. The files are checked before anything is
// computed from them: a field of the wrong type, a box that is not four finite numbers or a result on
// an image the ground truth does not have is a COCO_JSON_INVALID naming the entry.
import { VitkitError } from '@vitkit/core';
import { type CocoDetection, type CocoEvaluation, type CocoGroundTruth, type CocoImage, evaluateCoco } from './coco-eval.js';

/** COCOeval's `params` a caller may set (bbox). Ids are used sorted and de-duplicated, as `evaluate()` does. */
export interface CocoParams {
  /** Default: every image of the ground truth. */
  imgIds?: readonly number[];
  /** Default: every category of the ground truth's `categories`. */
  catIds?: readonly number[];
  /** Default [1, 10, 100]. */
  maxDets?: readonly [number, number, number];
  /** Default true. */
  useCats?: boolean;
}

export interface CocoJsonEvaluation extends CocoEvaluation {
  /** The images evaluated, ascending (the order detections are pooled in). */
  imageIds: number[];
  /** Category names from the ground truth, by id. */
  categoryNames: Map<number, string>;
}

interface GroundTruthFile {
  images: { id: number }[];
  annotations: { image_id: number; category_id: number; bbox: number[]; area: number; iscrowd: number }[];
  categories: { id: number; name: string }[];
}

/** Evaluates COCO results against COCO ground truth, both as parsed JSON (`instances.json`, a results list). */
export function evaluateCocoJson(groundTruth: unknown, results: unknown, params: CocoParams = {}): CocoJsonEvaluation {
  const gt = readGroundTruth(groundTruth);
  const detections = readResults(results, new Set(gt.images.map((i) => i.id)));
  const sortedUnique = (ids: readonly number[], what: string) => {
    if (!Array.isArray(ids) || !ids.every(Number.isFinite)) throw invalid(`${what} must be a list of numeric ids.`);
    return [...new Set(ids)].sort((a, b) => a - b);
  };
  const imageIds = sortedUnique(params.imgIds ?? gt.images.map((i) => i.id), 'imgIds');
  const categories = sortedUnique(params.catIds ?? gt.categories.map((c) => c.id), 'catIds');
  const useCats = params.useCats ?? true;
  const wantedCategory = (id: number) => !useCats || categories.includes(id);

  const byImage = new Map<number, CocoImage & { groundTruth: CocoGroundTruth[]; detections: CocoDetection[] }>(
    imageIds.map((id) => [id, { groundTruth: [], detections: [] }]),
  );
  // File order within an image, as pycocotools keeps it (ties in score then rank as they were listed).
  for (const a of gt.annotations) {
    if (!wantedCategory(a.category_id)) continue;
    byImage.get(a.image_id)?.groundTruth.push({ label: a.category_id, box: a.bbox, area: a.area, iscrowd: a.iscrowd === 1 });
  }
  for (const d of detections) {
    if (!wantedCategory(d.category_id)) continue;
    byImage.get(d.image_id)?.detections.push({ label: d.category_id, box: d.bbox, score: d.score });
  }
  const evaluation = evaluateCoco([...byImage.values()], {
    boxFormat: 'xywh',
    maxDets: params.maxDets,
    useCategories: useCats,
    categories,
  });
  return { ...evaluation, imageIds, categoryNames: new Map(gt.categories.map((c) => [c.id, c.name])) };
}

/** The twelve lines pycocotools' `summarize()` prints for bbox, character for character. */
export function cocoSummary(e: Pick<CocoEvaluation, 'stats' | 'maxDets'>): string[] {
  const [m0, m1, m2] = e.maxDets;
  const rows: [ap: boolean, iou: string, area: string, maxDet: number][] = [
    [true, '0.50:0.95', 'all', 100],
    [true, '0.50', 'all', m2],
    [true, '0.75', 'all', m2],
    [true, '0.50:0.95', 'small', m2],
    [true, '0.50:0.95', 'medium', m2],
    [true, '0.50:0.95', 'large', m2],
    [false, '0.50:0.95', 'all', m0],
    [false, '0.50:0.95', 'all', m1],
    [false, '0.50:0.95', 'all', m2],
    [false, '0.50:0.95', 'small', m2],
    [false, '0.50:0.95', 'medium', m2],
    [false, '0.50:0.95', 'large', m2],
  ];
  return rows.map(([ap, iou, area, maxDet], i) => {
    const title = (ap ? 'Average Precision' : 'Average Recall').padEnd(18);
    const kind = ap ? '(AP)' : '(AR)';
    return ` ${title} ${kind} @[ IoU=${iou.padEnd(9)} | area=${area.padStart(6)} | maxDets=${String(maxDet).padStart(3)} ] = ${e.stats[i].toFixed(3)}`;
  });
}

function invalid(message: string): VitkitError {
  return new VitkitError('COCO_JSON_INVALID', message);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isBox = (v: unknown): v is number[] =>
  Array.isArray(v) && v.length === 4 && v.every((x) => typeof x === 'number' && Number.isFinite(x));
const isId = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function readGroundTruth(json: unknown): GroundTruthFile {
  if (!isObject(json)) throw invalid('The ground truth must be a COCO object with "images", "annotations" and "categories".');
  for (const key of ['images', 'annotations', 'categories'] as const) {
    if (!Array.isArray(json[key])) throw invalid(`The ground truth has no "${key}" list.`);
  }
  const images = (json.images as unknown[]).map((image, i) => {
    if (!isObject(image) || !isId(image.id)) throw invalid(`Ground-truth images[${i}] has no numeric "id".`);
    return { id: image.id };
  });
  const categories = (json.categories as unknown[]).map((c, i) => {
    if (!isObject(c) || !isId(c.id)) throw invalid(`Ground-truth categories[${i}] has no numeric "id".`);
    return { id: c.id, name: typeof c.name === 'string' ? c.name : String(c.id) };
  });
  const annotations = (json.annotations as unknown[]).map((a, i) => {
    const where = `Ground-truth annotations[${i}]`;
    if (!isObject(a) || !isId(a.image_id) || !isId(a.category_id)) throw invalid(`${where} needs numeric "image_id" and "category_id".`);
    if (!isBox(a.bbox)) throw invalid(`${where}: "bbox" must be [x, y, width, height], four finite numbers.`);
    // COCO's area is the segmentation's; without one, the box's (as pycocotools' loadRes computes it).
    const area = a.area === undefined ? a.bbox[2] * a.bbox[3] : a.area;
    if (typeof area !== 'number' || !Number.isFinite(area)) throw invalid(`${where}: "area" must be a finite number.`);
    if (a.iscrowd !== undefined && a.iscrowd !== 0 && a.iscrowd !== 1 && typeof a.iscrowd !== 'boolean') {
      throw invalid(`${where}: "iscrowd" must be 0 or 1.`);
    }
    return { image_id: a.image_id, category_id: a.category_id, bbox: a.bbox, area, iscrowd: a.iscrowd === 1 || a.iscrowd === true ? 1 : 0 };
  });
  return { images, annotations, categories };
}

function readResults(json: unknown, imageIds: ReadonlySet<number>) {
  if (!Array.isArray(json)) throw invalid('The results must be a list of { image_id, category_id, bbox, score } (COCO results format).');
  return json.map((d: unknown, i) => {
    const where = `Results[${i}]`;
    if (!isObject(d) || !isId(d.image_id) || !isId(d.category_id)) throw invalid(`${where} needs numeric "image_id" and "category_id".`);
    if (!isBox(d.bbox)) throw invalid(`${where}: "bbox" must be [x, y, width, height], four finite numbers.`);
    if (typeof d.score !== 'number' || Number.isNaN(d.score)) throw invalid(`${where}: "score" must be a number.`);
    // pycocotools' loadRes asserts the same: results on images the ground truth lacks are a mix-up of files.
    if (!imageIds.has(d.image_id)) throw invalid(`${where} is on image ${d.image_id}, which the ground truth does not have.`);
    return { image_id: d.image_id, category_id: d.category_id, bbox: d.bbox, score: d.score };
  });
}
