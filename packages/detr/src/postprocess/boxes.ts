import { VitkitError } from '@vitkit/core';

/** A box as four numbers; which four (corners or centre + size) is said where it is used. */
export type Box = [number, number, number, number];

/** `(cx, cy, w, h)` → `(x0, y0, x1, y1)`, as transformers' `center_to_corners_format`. */
export function centerToCorners(box: ArrayLike<number>): Box {
  const [cx, cy, w, h] = [box[0], box[1], box[2], box[3]];
  return [cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h];
}

/** Area of an `(x0, y0, x1, y1)` box (negative for an inverted box, as torchvision's `box_area`). */
export function boxArea(box: ArrayLike<number>): number {
  return (box[2] - box[0]) * (box[3] - box[1]);
}

/** Intersection over union of two corner boxes, and their union (GIoU needs both). */
export function boxIouAndUnion(a: ArrayLike<number>, b: ArrayLike<number>): { iou: number; union: number } {
  const width = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const height = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const intersection = width * height;
  const union = boxArea(a) + boxArea(b) - intersection;
  return { iou: intersection / union, union };
}

/**
 * Generalized IoU (Rezatofighi et al. 2019) of two corner boxes: IoU minus the share of the smallest
 * enclosing box that the union leaves empty. In [-1, 1]; unlike IoU it still ranks boxes that do not
 * overlap, which is why DETR's matcher and loss use it.
 */
export function generalizedBoxIou(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const { iou, union } = boxIouAndUnion(a, b);
  const enclosingWidth = Math.max(0, Math.max(a[2], b[2]) - Math.min(a[0], b[0]));
  const enclosingHeight = Math.max(0, Math.max(a[3], b[3]) - Math.min(a[1], b[1]));
  const enclosing = enclosingWidth * enclosingHeight;
  return iou - (enclosing - union) / enclosing;
}

/**
 * Pairwise GIoU matrix `[boxes1.length][boxes2.length]` of corner boxes, as transformers'
 * `generalized_box_iou`, which refuses inverted boxes (x1 < x0 or y1 < y0): they would give
 * meaningless areas, and in DETR they mean the predictions went wrong upstream.
 */
export function generalizedBoxIouMatrix(boxes1: readonly ArrayLike<number>[], boxes2: readonly ArrayLike<number>[]): number[][] {
  assertCornerBoxes(boxes1, 'boxes1');
  assertCornerBoxes(boxes2, 'boxes2');
  return boxes1.map((a) => boxes2.map((b) => generalizedBoxIou(a, b)));
}

function assertCornerBoxes(boxes: readonly ArrayLike<number>[], name: string): void {
  boxes.forEach((box, index) => {
    if (!(box[2] >= box[0] && box[3] >= box[1])) {
      throw new VitkitError(
        'INVALID_ARGUMENT',
        `generalizedBoxIou: ${name}[${index}] = [${Array.from(box).join(', ')}] is not a corner box (x0, y0, x1, y1) with x1 >= x0 and y1 >= y0; convert (cx, cy, w, h) boxes with centerToCorners first.`,
      );
    }
  });
}
