import type { DType } from '../../tensor/dtype.js';
import type { GraphParts } from '../graph-parts.js';
import type { INodeProto } from '../onnx-proto.js';

const FLOATS: readonly DType[] = ['float32', 'float16'];

/**
 * Residual Add [+ bias Add] + LayerNormalization → com.microsoft SkipLayerNormalization.
 *
 *   s = a + (m + bias)      (bias: a [C] constant whose Add feeds only this one)
 *   y = LayerNorm(s)        (last axis, scale [C], optional beta)
 * becomes SkipLayerNormalization(a, m, scale, beta, bias) → [y, , , s]. Its fourth output is the sum, so
 * the residual stream stays available to later readers: pre-norm transformers (ViT, DINOv2, DeiT, Swin)
 * read it twice, which is why onnxruntime's own SkipLayerNormFusion (one reader only) leaves them alone.
 *
 * Only 3-D a and m of identical shape are fused (onnxruntime's kernels require it), so broadcasting
 * Adds are never touched. The fused node takes the residual Add's place in the node order, where all
 * of its inputs exist and before any reader of the sum.
 */
export function fuseSkipLayerNorm(parts: GraphParts): GraphParts {
  const specOf = (name: string) => parts.valueSpecs.get(name);
  const producer = new Map<string, number>();
  const readers = new Map<string, number>();
  parts.node.forEach((n, i) => {
    for (const o of n.output ?? []) producer.set(o, i);
    for (const v of n.input ?? []) if (v) readers.set(v, (readers.get(v) ?? 0) + 1);
  });
  const graphOutputs = new Set(parts.output.map((o) => o.name as string));
  const constants = new Set(parts.initializer.map((t) => t.name as string));
  const nodes: (INodeProto | undefined)[] = [...parts.node];

  for (let li = 0; li < nodes.length; li++) {
    const ln = nodes[li];
    if (ln?.opType !== 'LayerNormalization' || ln.domain) continue;
    const axis = ln.attribute?.find((a) => a.name === 'axis');
    if (axis && Number(axis.i) !== -1) continue;
    const [sumName, scale, beta] = ln.input as string[];
    const ai = producer.get(sumName);
    const addNode = ai === undefined ? undefined : nodes[ai];
    if (ai === undefined || !addNode || addNode.opType !== 'Add' || addNode.domain) continue;
    const [a0, b0] = addNode.input as string[];
    const sa = specOf(a0);
    const sb = specOf(b0);
    if (!sa || !sb || !FLOATS.includes(sa.dtype) || sa.dtype !== sb.dtype) continue;
    if (sa.shape.length !== 3 || sb.shape.length !== 3 || !sa.shape.every((d, i) => d === sb.shape[i])) continue;
    const c = sa.shape[2];
    if (typeof c !== 'number' || specOf(scale)?.shape.join() !== String(c)) continue;

    // Which side carries a bias Add of its own (m + bias, read only here)? Prefer the second input.
    let input = a0;
    let skip = b0;
    let bias: string | undefined;
    let biasAdd: number | undefined;
    for (const [self, other] of [
      [b0, a0],
      [a0, b0],
    ]) {
      const pi = producer.get(self);
      const p = pi === undefined ? undefined : nodes[pi];
      if (pi === undefined || !p || p.opType !== 'Add' || p.domain || readers.get(self) !== 1 || graphOutputs.has(self)) continue;
      const [m0, m1] = p.input as string[];
      const constSide = constants.has(m1) ? m1 : constants.has(m0) ? m0 : undefined;
      const varSide = constSide === m1 ? m0 : m1;
      const sm = specOf(varSide);
      if (!constSide || specOf(constSide)?.shape.join() !== String(c) || !sm || sm.shape.length !== 3) continue;
      if (!sm.shape.every((d, i) => d === sa.shape[i])) continue;
      input = other;
      skip = varSide;
      bias = constSide;
      biasAdd = pi;
      break;
    }

    const sumReaders = (readers.get(sumName) ?? 0) + (graphOutputs.has(sumName) ? 1 : 0);
    const eps = ln.attribute?.find((a) => a.name === 'epsilon');
    nodes[ai] = {
      name: `${ln.name}/SkipLayerNormalization`,
      opType: 'SkipLayerNormalization',
      domain: 'com.microsoft',
      input: [input, skip, scale, beta ?? '', ...(bias ? [bias] : [])],
      output: [(ln.output as string[])[0], '', '', ...(sumReaders > 1 ? [sumName] : [])],
      attribute: eps ? [eps] : [],
    };
    nodes[li] = undefined;
    if (biasAdd !== undefined) nodes[biasAdd] = undefined;
  }
  return { ...parts, node: nodes.filter((n): n is INodeProto => n !== undefined) };
}
