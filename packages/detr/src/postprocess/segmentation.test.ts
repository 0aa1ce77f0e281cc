import { loadPretrained, type Tensor } from '@vitkit/core';
import { codeOf, fixturePath, listModelCases, readFixtureJson, readFixtureTensors } from '@vitkit/test-support';
import { afterAll, describe, expect, it } from 'vitest';
import { Detr } from '../detr-model.js';
import type { TargetSize } from './object-detection.js';
import {
  type DetrSegmentationOutputs,
  type ImageSegmentation,
  postProcessInstanceSegmentation,
  postProcessPanopticSegmentation,
  postProcessSemanticSegmentation,
} from './segmentation.js';

interface ExpectedSegment {
  id: number;
  label_id: number;
  was_fused: boolean;
  score: number;
}

interface ExpectedResult {
  segmentation: string;
  shape: [number, number];
  segments_info?: ExpectedSegment[];
}

interface ExpectedEntry {
  name: string;
  kwargs: {
    threshold?: number;
    mask_threshold?: number;
    overlap_mask_area_threshold?: number;
    label_ids_to_fuse?: number[];
    target_sizes: TargetSize[] | null;
  };
  results: ExpectedResult[];
}

interface ExpectedPostprocess {
  panoptic: ExpectedEntry[];
  instance: ExpectedEntry[];
  semantic: ExpectedEntry[];
}

const CASES = listModelCases(['detr_panoptic']);
type Task = 'panoptic' | 'instance' | 'semantic';

function run(task: Task, outputs: DetrSegmentationOutputs, kwargs: ExpectedEntry['kwargs']): Tensor[] | ImageSegmentation[] {
  const targetSizes = kwargs.target_sizes ?? undefined;
  const common = {
    threshold: kwargs.threshold,
    maskThreshold: kwargs.mask_threshold,
    overlapMaskAreaThreshold: kwargs.overlap_mask_area_threshold,
    targetSizes,
  };
  if (task === 'panoptic') return postProcessPanopticSegmentation(outputs, { ...common, labelIdsToFuse: kwargs.label_ids_to_fuse });
  if (task === 'instance') return postProcessInstanceSegmentation(outputs, common);
  return postProcessSemanticSegmentation(outputs, { targetSizes });
}

/** Pixels of `actual` that differ from the stored int32 map. */
function differingPixels(actual: Tensor, expected: Tensor): number {
  expect(actual.shape).toEqual(expected.shape);
  const a = actual.data as Int32Array;
  const e = expected.data as Int32Array;
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== e[i]) n++;
  return n;
}

const entries = (expected: ExpectedPostprocess) =>
  (['panoptic', 'instance', 'semantic'] as const).flatMap((task) => expected[task].map((entry) => [task, entry] as const));

describe.each(CASES.map((c) => [c.id, c] as const))('%s: the stored outputs post-processed as DetrImageProcessor', (id, c) => {
  const expected = readFixtureJson<ExpectedPostprocess>(`${id}/expected_postprocess.json`);
  const maps = readFixtureTensors(`${id}/expected_postprocess.safetensors`);
  const outputs = { logits: c.expected.get('logits')!, pred_masks: c.expected.get('pred_masks')! };

  it.each(entries(expected).map(([task, entry]) => [`${task} ${entry.name}`, task, entry] as const))(
    '%s: every map exact, every segment (id, label, fused, score)',
    (_name, task, entry) => {
      const results = run(task, outputs, entry.kwargs);
      expect(results).toHaveLength(entry.results.length);
      entry.results.forEach((want, i) => {
        const got = results[i];
        const map = task === 'semantic' ? (got as Tensor) : (got as ImageSegmentation).segmentation;
        expect(map.shape).toEqual(want.shape);
        expect(differingPixels(map, maps.get(want.segmentation)!), `image ${i}: pixels differing`).toBe(0);
        if (task === 'semantic') return;
        const info = (got as ImageSegmentation).segmentsInfo;
        expect(info.map(({ id, labelId, wasFused }) => ({ id, label_id: labelId, was_fused: wasFused }))).toEqual(
          want.segments_info!.map(({ id, label_id, was_fused }) => ({ id, label_id, was_fused })),
        );
        info.forEach((s, k) => expect(Math.abs(s.score - want.segments_info![k].score), `segment ${k} score`).toBeLessThanOrEqual(2e-6));
      });
    },
  );
});

describe('the model’s own outputs post-processed', () => {
  const models: Detr[] = [];
  afterAll(async () => {
    for (const m of models) await m.dispose();
  });

  // Our outputs differ from the stored ones by up to ~1e-4 (pred_masks up to ~2e-4), so a pixel whose
  // margin to a threshold or tie is below that may flip; the fixture's margins are >= 7e-6, and in
  // practice none flips. The bound says "a few pixels", the count is printed.
  it.each(CASES.map((c) => [c.id, c] as const))('%s: at most a few pixels and no segment differ', async (id, c) => {
    const model = new Detr(await loadPretrained(fixturePath(id)), { device: 'cpu' });
    models.push(model);
    const out = await model.run({ pixel_values: c.inputs.get('pixel_values'), pixel_mask: c.inputs.get('pixel_mask') });
    const expected = readFixtureJson<ExpectedPostprocess>(`${id}/expected_postprocess.json`);
    const maps = readFixtureTensors(`${id}/expected_postprocess.safetensors`);
    let total = 0;
    let pixels = 0;
    for (const [task, entry] of entries(expected)) {
      const results = run(task, { logits: out.logits, pred_masks: out.pred_masks }, entry.kwargs);
      entry.results.forEach((want, i) => {
        const got = results[i];
        const map = task === 'semantic' ? (got as Tensor) : (got as ImageSegmentation).segmentation;
        total += differingPixels(map, maps.get(want.segmentation)!);
        pixels += map.size;
        if (task !== 'semantic') {
          expect((got as ImageSegmentation).segmentsInfo.map((s) => [s.id, s.labelId, s.wasFused])).toEqual(
            want.segments_info!.map((s) => [s.id, s.label_id, s.was_fused]),
          );
        }
      });
    }
    console.log(`${id}: ${total} of ${pixels} post-processed pixels differ from DetrImageProcessor's (own model outputs)`);
    expect(total).toBeLessThanOrEqual(5);
  });
});

describe('bad arguments are typed errors', () => {
  const c = CASES[0];
  const outputs = { logits: c.expected.get('logits')!, pred_masks: c.expected.get('pred_masks')! };
  it('target sizes of another batch, non-integer sizes, missing or misshapen outputs', () => {
    expect(
      codeOf(() =>
        postProcessPanopticSegmentation(outputs, {
          targetSizes: [
            [8, 8],
            [8, 8],
          ],
        }),
      ),
    ).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => postProcessSemanticSegmentation(outputs, { targetSizes: [[8.5, 8]] }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => postProcessInstanceSegmentation({ logits: outputs.logits } as DetrSegmentationOutputs))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => postProcessSemanticSegmentation({ logits: outputs.logits, pred_masks: outputs.logits }))).toBe(
      'TENSOR_SHAPE_MISMATCH',
    );
  });

  it('no query above the threshold gives the all -1 map, at the target size', () => {
    const [result] = postProcessPanopticSegmentation(outputs, { threshold: 0.9999, targetSizes: [[5, 7]] });
    expect(result.segmentsInfo).toEqual([]);
    expect([...result.segmentation.data]).toEqual(new Array(35).fill(-1));
  });
});
