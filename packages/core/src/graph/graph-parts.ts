import { VitkitError } from '../errors/vitkit-error.js';
import type { INodeProto, ITensorProto, IValueInfoProto } from './onnx-proto.js';
import { onnx } from './onnx-proto.js';
import type { Value } from './value.js';

/**
 * A graph in ONNX's own pieces: what `GraphBuilder.parts()` records, what a pass (a fusion, a precision
 * rewrite) takes and returns without mutating its input, and what `encodeModel` writes.
 */
export interface GraphParts {
  name: string;
  /** Opset per domain the builder imported ('' = ai.onnx). */
  opsets: ReadonlyMap<string, number>;
  node: INodeProto[];
  initializer: ITensorProto[];
  input: IValueInfoProto[];
  output: IValueInfoProto[];
  /** dtype and shape of the values as typed while building, for passes that match on shapes (not written out). */
  valueSpecs: ReadonlyMap<string, Pick<Value, 'dtype' | 'shape'>>;
}

/** Protobuf messages (an ONNX model with its weights inline) cannot reach 2 GiB. */
const PROTOBUF_LIMIT = 2 ** 31 - 1;

/** Bytes of the initializers held inline (rawData): what an inline ModelProto carries. */
export function initializerBytes(parts: GraphParts): number {
  let total = 0;
  for (const t of parts.initializer) total += (t.rawData as Uint8Array | undefined)?.byteLength ?? 0;
  return total;
}

/** ONNX ModelProto bytes; a domain a pass introduced (com.microsoft) is imported at version 1. */
export function encodeModel(parts: GraphParts): Uint8Array {
  const inline = initializerBytes(parts);
  if (inline >= PROTOBUF_LIMIT) {
    throw new VitkitError(
      'WEIGHTS_TOO_LARGE',
      `The graph's weights (${inline} bytes) exceed the 2 GiB an ONNX model can hold inline: in Node (devices cpu, webgpu, cuda) they are written as external data instead (keep externalDataThreshold under 2 GiB); in browsers use a smaller checkpoint or dtype "fp16"/"int8".`,
    );
  }
  const domains = new Map(parts.opsets);
  for (const n of parts.node) if (n.domain && !domains.has(n.domain)) domains.set(n.domain, 1);
  const model = onnx.ModelProto.create({
    irVersion: 10,
    producerName: 'vitkit',
    opsetImport: [...domains].map(([domain, version]) => ({ domain, version })),
    graph: { name: parts.name, node: parts.node, initializer: parts.initializer, input: parts.input, output: parts.output },
  });
  return onnx.ModelProto.encode(model).finish();
}
