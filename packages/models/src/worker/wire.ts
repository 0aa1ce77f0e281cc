// What crosses between a page (or Node's main thread) and the model worker. Structured clone keeps
// plain data but drops classes (Tensor, RgbImage, VitkitError), so each is sent as plain fields and
// rebuilt on arrival; large buffers are listed for transfer, so they move instead of being copied.

import { type DType, type ImageSource, isVitkitError, RgbImage, Tensor, VitkitError, type VitkitErrorCode } from '@vitkit/core';
import * as Comlink from 'comlink';

/** A Tensor as plain fields. */
export interface WireTensor {
  readonly wire: 'tensor';
  dtype: DType;
  shape: number[];
  data: Tensor['data'];
}

/** An RgbImage as plain fields. */
export interface WireRgbImage {
  readonly wire: 'rgb';
  data: Uint8Array;
  width: number;
  height: number;
}

/** A VitkitError as plain fields (thrown across the boundary, rebuilt with its code on the other side). */
export interface WireError {
  readonly wire: 'error';
  code: VitkitErrorCode;
  message: string;
}

/** Buffers to transfer; a view on part of a larger buffer is copied out first so only its bytes move. */
export class TransferList {
  readonly buffers: ArrayBuffer[] = [];

  /** `view` itself, or a copy covering exactly its bytes; its buffer is added to the list. */
  take<V extends ArrayBufferView>(view: V): V {
    let owned = view;
    const buffer = view.buffer;
    checkNotDetached(buffer);
    // Nothing to move; and Node drops (never delivers) a message whose transfer list holds a detached buffer.
    if (buffer.byteLength === 0) return view;
    if (!(buffer instanceof ArrayBuffer) || view.byteOffset !== 0 || view.byteLength !== buffer.byteLength) {
      owned = (view as unknown as { slice(): V }).slice();
    }
    if (!this.buffers.includes(owned.buffer as ArrayBuffer)) this.buffers.push(owned.buffer as ArrayBuffer);
    return owned;
  }
}

/** A buffer already moved to another thread cannot be sent again (ArrayBuffer.detached, where the runtime has it). */
function checkNotDetached(buffer: ArrayBufferLike): void {
  if ((buffer as { detached?: boolean }).detached === true) {
    throw new VitkitError(
      'INVALID_ARGUMENT',
      'This buffer was already transferred to a worker (it is detached): pass a copy, or { transfer: false } to the earlier call.',
    );
  }
}

/** `value` marked for Comlink to send with `buffers` moved (Comlink keys the mark by object, so primitives go as they are). */
export function withTransfer<T>(value: T, buffers: readonly ArrayBuffer[] | undefined): T {
  return buffers?.length && typeof value === 'object' && value !== null ? Comlink.transfer(value, [...buffers]) : value;
}

export function tensorToWire(t: Tensor, transfer?: TransferList): WireTensor {
  return { wire: 'tensor', dtype: t.dtype, shape: [...t.shape], data: transfer ? transfer.take(t.data) : t.data };
}

export function tensorFromWire(w: WireTensor): Tensor {
  return new Tensor(w.dtype, w.data, w.shape);
}

export function isWire<K extends string>(value: unknown, kind: K): value is { wire: K } {
  return typeof value === 'object' && value !== null && (value as { wire?: unknown }).wire === kind;
}

export function rgbToWire(image: RgbImage, transfer?: TransferList): WireRgbImage {
  return { wire: 'rgb', data: transfer ? transfer.take(image.data) : image.data, width: image.width, height: image.height };
}

export function rgbFromWire(w: WireRgbImage): RgbImage {
  return new RgbImage(w.data, w.width, w.height);
}

export function tensorsToWire(tensors: Record<string, Tensor | undefined>, transfer?: TransferList): Record<string, WireTensor> {
  const out: Record<string, WireTensor> = {};
  for (const [name, t] of Object.entries(tensors)) if (t !== undefined) out[name] = tensorToWire(t, transfer);
  return out;
}

export function tensorsFromWire(wire: Record<string, WireTensor>): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(wire)) out[name] = tensorFromWire(t);
  return out;
}

/** What an image input becomes on the wire: classes flattened, URL objects as their href. */
export type WireImage = string | Uint8Array | ArrayBuffer | Blob | WireRgbImage | WireTensor | WirePixels;

interface WirePixels {
  readonly wire?: undefined;
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  channels?: number;
}

/** An image (or pixel_values tensor) for the wire; with a transfer list its pixel buffer moves. */
export function imageToWire(image: ImageSource | Tensor, transfer?: TransferList): WireImage {
  if (image instanceof Tensor) return tensorToWire(image, transfer);
  if (image instanceof RgbImage) return rgbToWire(image, transfer);
  if (typeof URL !== 'undefined' && image instanceof URL) return image.href;
  if (typeof image === 'string' || (typeof Blob !== 'undefined' && image instanceof Blob)) return image;
  if (image instanceof ArrayBuffer) {
    checkNotDetached(image);
    if (transfer && image.byteLength > 0 && !transfer.buffers.includes(image)) transfer.buffers.push(image);
    return image;
  }
  if (image instanceof Uint8Array) return transfer ? transfer.take(image) : image;
  if (typeof image === 'object' && image !== null && 'data' in image && 'width' in image && 'height' in image) {
    const p = image as WirePixels;
    if (typeof ImageData !== 'undefined' && image instanceof ImageData) {
      // ImageData clones as ImageData; its pixels move with it.
      if (transfer && p.data.byteLength > 0 && !transfer.buffers.includes(p.data.buffer as ArrayBuffer))
        transfer.buffers.push(p.data.buffer as ArrayBuffer);
      return image as unknown as WirePixels;
    }
    return { data: transfer ? transfer.take(p.data) : p.data, width: p.width, height: p.height, channels: p.channels };
  }
  throw new VitkitError(
    'IMAGE_SOURCE_INVALID',
    'A model worker takes images as a URL or path string, URL, Blob, ArrayBuffer, Uint8Array, pixels ({ data, width, height }), RgbImage or Tensor.',
  );
}

export function imageFromWire(w: WireImage): ImageSource | Tensor {
  if (isWire(w, 'tensor')) return tensorFromWire(w as WireTensor);
  if (isWire(w, 'rgb')) return rgbFromWire(w as WireRgbImage);
  return w as ImageSource;
}

export function errorToWire(error: unknown): unknown {
  if (isVitkitError(error)) return { wire: 'error', code: error.code, message: error.message } satisfies WireError;
  return error; // Comlink sends other Errors as { name, message, stack }
}

export function errorFromWire(error: unknown): unknown {
  if (isWire(error, 'error')) {
    const w = error as WireError;
    return new VitkitError(w.code, w.message);
  }
  return error;
}
