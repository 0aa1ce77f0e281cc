import { type GraphBuilder, ops, Tensor, type Value } from '@vitkit/core/internal';

/**
 * The pixel mask downsampled to the feature map, as transformers does it:
 * `nn.functional.interpolate(pixel_mask[None].float(), size=feature_map.shape[-2:]).to(torch.bool)[0]`.
 */

/**
 * Source rows of `F.interpolate(mask, size=out)` (mode "nearest", PyTorch's CPU kernel): index
 * `min(floor(i * (in / out)), in - 1)` with a float32 scale.
 */
export function nearestIndices(inSize: number, outSize: number): Int32Array {
  const out = new Int32Array(outSize);
  const scale = Math.fround(inSize / outSize);
  for (let i = 0; i < outSize; i++) {
    if (inSize === outSize) out[i] = i;
    else if (outSize === 2 * inSize) out[i] = i >> 1;
    else out[i] = Math.min(Math.floor(Math.fround(i * scale)), inSize - 1);
  }
  return out;
}

/**
 * The same indices as the graph computes them: `floor(i * in / out)` in exact integer arithmetic.
 * For every size pair a DETR backbone makes (out = ⌈in / 2^k⌉) this equals PyTorch's float32 rule
 * (`pixel-mask.test.ts` checks all in ≤ 8192); for arbitrary pairs float rounding can differ by one.
 */
export function nearestIndicesExact(inSize: number, outSize: number): Int32Array {
  const out = new Int32Array(outSize);
  for (let i = 0; i < outSize; i++) out[i] = Math.floor((i * inSize) / outSize);
  return out;
}

const INT32 = 6; // ONNX TensorProto.INT32

/**
 * `mask` [B, H, W] (float 0/1) at the spatial size of `features` [B, C, h, w], both read at run time:
 * rows `floor(i * H / h)` and columns `floor(j * W / w)`, in int32 (exact, on every device; float
 * indices would turn fp16 in fp16 graphs, and WebGPU's division is not correctly rounded).
 */
export function downsampleMask(g: GraphBuilder, mask: Value, features: Value): Value {
  return nearestResizeTo(g, mask, features);
}

/**
 * `F.interpolate(x, size=like.shape[-2:], mode="nearest")` over x's last two axes, with the same
 * integer source indices as the mask: one Gather of the flattened plane at `row·w + col` (no
 * intermediate half-resized tensor). DETR's mask-head FPN upsamples each stage's map to the next
 * larger stage this way (out = 2·in or 2·in - 1, where this is torch's rule).
 */
export function nearestResizeTo(g: GraphBuilder, x: Value, like: Value): Value {
  const rank = x.shape.length;
  const cols = positionsAlong(g, x, rank - 1);
  const rows = nearestSourceIndices(g, positionsAlong(g, x, rank - 2).count, positionsAlong(g, like, like.shape.length - 2));
  const colIndex = nearestSourceIndices(g, cols.count, positionsAlong(g, like, like.shape.length - 1));
  const grid = ops.add(g, ops.mul(g, ops.reshape(g, rows, [-1, 1]), cols.count), ops.reshape(g, colIndex, [1, -1]));
  const flat = ops.reshape(g, x, [...new Array(rank - 2).fill(0), -1]);
  return ops.gather(g, flat, grid, rank - 2);
}

function nearestSourceIndices(g: GraphBuilder, inSize: Value, out: { index: Value; count: Value }): Value {
  // Non-negative int32 Div truncates, i.e. floors; i * in stays far below 2^31 for any image.
  return ops.div(g, ops.mul(g, out.index, inSize), out.count);
}

/**
 * 0, 1, …, n - 1 over the n positions along `axis` of x ([n] int32), and n ([] int32). Counted from
 * x itself rather than read with Shape: WebGPU runs Shape's int64 arithmetic on the CPU.
 */
export function positionsAlong(g: GraphBuilder, x: Value, axis: number): { index: Value; count: Value } {
  // x[0, …, 0, :, 0, …, 0]: index 0 on every other axis, the last first so the axis numbers hold.
  let line = x;
  for (let i = x.shape.length - 1; i >= 0; i--) if (i !== axis) line = ops.gather(g, line, 0, i);
  const int = (v: number, name: string) => g.constant(new Tensor('int32', Int32Array.of(v), []), name);
  // 0 * x + 1 in int32 is 1 whatever x holds (a NaN or inf cast to int32 is still some integer).
  const ones = ops.add(g, ops.mul(g, ops.cast(g, line, 'int32', INT32), int(0, 'zero')), int(1, 'one'));
  return { index: ops.sub(g, ops.cumSum(g, ones, 0), int(1, 'one')), count: ops.reduceSum(g, ones, [0], false) };
}
