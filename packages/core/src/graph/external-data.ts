import type { GraphParts } from './graph-parts.js';
import { onnx } from './onnx-proto.js';

/** One initializer's bytes and where they go in the external data file. */
export interface ExternalDataSlice {
  offset: number;
  /** A view on the initializer's own bytes (never a copy). */
  data: Uint8Array;
}

export interface ExternalDataLayout {
  /** The graph with its large initializers pointing into the data file instead of holding their bytes. */
  parts: GraphParts;
  /** In file order; the gaps between them (alignment) read as zeros. */
  slices: ExternalDataSlice[];
  /** The data file's size. */
  byteLength: number;
}

export interface ExternalDataOptions {
  /** The data file's name, relative to the model file's folder, as written into each initializer. */
  location: string;
  /** Initializers at least this large go to the data file (default 1024, as onnx's convert_model_to_external_data). */
  minBytes?: number;
  /**
   * Each slice starts at a multiple of this (default 4096, as onnxruntime's own saver): page-aligned
   * offsets let onnxruntime memory-map a weight rather than copy it.
   */
  align?: number;
}

/**
 * Moves large initializers out of the graph (ONNX external data: `dataLocation: EXTERNAL`, `location`,
 * `offset`, `length`), so a model over protobuf's 2 GiB limit can be encoded, and the weights can be
 * written tensor by tensor instead of in one buffer. Pure: the caller writes `slices` to `location`.
 */
export function layoutExternalData(parts: GraphParts, options: ExternalDataOptions): ExternalDataLayout {
  const minBytes = options.minBytes ?? 1024;
  const align = options.align ?? 4096;
  const slices: ExternalDataSlice[] = [];
  let end = 0;
  const initializer = parts.initializer.map((t) => {
    const raw = t.rawData as Uint8Array | undefined;
    if (!raw || raw.byteLength < minBytes) return t;
    const offset = Math.ceil(end / align) * align;
    slices.push({ offset, data: raw });
    end = offset + raw.byteLength;
    const { rawData: _inline, ...rest } = t;
    return {
      ...rest,
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: options.location },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(raw.byteLength) },
      ],
    };
  });
  return { parts: { ...parts, initializer }, slices, byteLength: end };
}
