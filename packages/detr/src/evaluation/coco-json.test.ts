import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { COCO_IOU_THRESHOLDS, COCO_RECALL_THRESHOLDS } from './coco-eval.js';
import { cocoSummary, evaluateCocoJson } from './coco-json.js';

// pycocotools 2.0.11 on synthetic COCO files: crowd regions, > 100 detections of one category on an
// image, images without ground truth or detections; three runs (default, a catIds and an imgIds subset).
const DIR = fileURLToPath(new URL('../../../../fixtures/coco_eval/', import.meta.url));
const read = (name: string) => JSON.parse(readFileSync(DIR + name, 'utf8'));
const GT = read('gt.json');
const DT = read('dt.json');

interface Run {
  name: string;
  set_params: { catIds?: number[]; imgIds?: number[] };
  params: { imgIds: number[]; catIds: number[]; maxDets: number[]; iouThrs: number[]; recThrs: number[] };
  stats: number[];
  summary: string[];
  per_category: Record<string, Record<string, number> & { name: string }>;
  precision_area_all_maxdet_last: number[][][];
  recall: number[][][][];
}
const RUNS = (read('expected.json') as { runs: Run[] }).runs;

/** The numbers are float64 as pycocotools computed them; the README asks for ~1e-12. */
const close = (actual: number, expected: number) => expect(Math.abs(actual - expected)).toBeLessThan(1e-12);

describe.each(RUNS.map((r) => [r.name, r] as const))('evaluateCocoJson equals pycocotools: %s', (_, run) => {
  const e = evaluateCocoJson(GT, DT, run.set_params);

  it('evaluates the same images and categories with the same thresholds', () => {
    expect(e.imageIds).toEqual(run.params.imgIds);
    expect(e.categories).toEqual(run.params.catIds);
    expect(e.maxDets).toEqual(run.params.maxDets);
    expect([...COCO_IOU_THRESHOLDS]).toEqual(run.params.iouThrs);
    expect([...COCO_RECALL_THRESHOLDS]).toEqual(run.params.recThrs);
  });

  it('gives the 12 stats and the summary text', () => {
    run.stats.forEach((s, i) => close(e.stats[i], s));
    expect(cocoSummary(e)).toEqual(run.summary);
  });

  it("gives every category's AP, AP50, AP75, AP by area, AR per maxDet and ground-truth count", () => {
    for (const [id, c] of Object.entries(run.per_category)) {
      const mine = e.perCategory.get(Number(id));
      expect(mine, `category ${id}`).toBeDefined();
      if (!mine) continue;
      close(mine.ap, c.AP);
      close(mine.ap50, c.AP50);
      close(mine.ap75, c.AP75);
      close(mine.apSmall, c.AP_small);
      close(mine.apMedium, c.AP_medium);
      close(mine.apLarge, c.AP_large);
      e.maxDets.forEach((m, i) => close(mine.ar[i], c[`AR${m}`]));
      expect(mine.groundTruths).toBe(c.n_gt_non_crowd);
      expect(e.categoryNames.get(Number(id))).toBe(c.name);
    }
  });

  it("gives eval['precision'] at area all, the last maxDet, and eval['recall'] in full", () => {
    const K = e.categories.length;
    const [T, R, A, M] = [10, 101, 4, 3];
    run.precision_area_all_maxdet_last.forEach((byRecall, t) =>
      byRecall.forEach((byCategory, r) =>
        byCategory.forEach((p, k) => close(e.precision[(((t * R + r) * K + k) * A + 0) * M + (M - 1)], p)),
      ),
    );
    expect(run.recall).toHaveLength(T);
    run.recall.forEach((byCategory, t) =>
      byCategory.forEach((byArea, k) =>
        byArea.forEach((byMaxDet, a) => byMaxDet.forEach((v, m) => close(e.recall[((t * K + k) * A + a) * M + m], v))),
      ),
    );
  });
});

describe('evaluateCocoJson: pycocotools quirks and hostile files', () => {
  it('stats[0] is -1 when maxDets lacks 100 (summarize asks for 100), while ap is the real AP at the largest maxDet', () => {
    const e = evaluateCocoJson(GT, DT, { maxDets: [1, 10, 50] });
    expect(e.stats[0]).toBe(-1);
    expect(e.ap).toBeGreaterThan(0);
    close(e.stats[1], e.ap50); // the others are asked for at maxDets[2]
    expect(cocoSummary(e)[0]).toBe(' Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = -1.000');
    expect(cocoSummary(e)[1]).toMatch(/maxDets= 50 \] = /);
  });

  it('refuses what pycocotools would choke on, naming the entry', () => {
    const code = (gt: unknown, dt: unknown) => {
      try {
        evaluateCocoJson(gt, dt);
        return 'accepted';
      } catch (error) {
        return (error as { code?: string }).code ?? String(error);
      }
    };
    expect(code([], DT)).toBe('COCO_JSON_INVALID');
    expect(code({ ...GT, annotations: undefined }, DT)).toBe('COCO_JSON_INVALID');
    expect(code({ ...GT, annotations: [{ ...GT.annotations[0], bbox: [1, 2, 3] }] }, DT)).toBe('COCO_JSON_INVALID');
    expect(code({ ...GT, annotations: [{ ...GT.annotations[0], area: 'big' }] }, DT)).toBe('COCO_JSON_INVALID');
    expect(code(GT, { results: DT })).toBe('COCO_JSON_INVALID');
    expect(code(GT, [{ ...DT[0], bbox: [0, 0, Number.NaN, 1] }])).toBe('COCO_JSON_INVALID');
    expect(code(GT, [{ ...DT[0], image_id: 123456789 }])).toBe('COCO_JSON_INVALID'); // loadRes: not in the ground truth
    expect(code(GT, [{ ...DT[0], score: null }])).toBe('COCO_JSON_INVALID');
    expect(code(GT, [])).toBe('accepted'); // no detections: zeros and -1s, not an error
  });
});
