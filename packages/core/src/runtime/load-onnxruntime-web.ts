import { VitkitError } from '../errors/vitkit-error.js';
import type { Device } from './device.js';
import type { OrtModule } from './onnxruntime-api.js';

let loading: Promise<OrtModule> | undefined;

/** Browsers: wasm and webgpu, both from onnxruntime-web. */
export function loadOnnxRuntime(device: Device): Promise<OrtModule> {
  if (device === 'cpu' || device === 'cuda') {
    return Promise.reject(
      new VitkitError(
        'BACKEND_UNAVAILABLE',
        `The "${device}" device needs onnxruntime-node, which runs only in Node. In a browser use "wasm" or "webgpu".`,
      ),
    );
  }
  loading ??= import('onnxruntime-web').then(
    (mod) => {
      const ort = (
        (mod as unknown as { InferenceSession?: unknown }).InferenceSession ? mod : (mod as unknown as { default: OrtModule }).default
      ) as OrtModule;
      if (ort.env.wasm) ort.env.wasm.numThreads ??= pageWasmThreads(globalThis);
      return ort;
    },
    (cause) => {
      loading = undefined;
      throw new VitkitError('BACKEND_PACKAGE_MISSING', `The "${device}" device needs the onnxruntime-web package: npm i onnxruntime-web.`, {
        cause,
      });
    },
  );
  return loading;
}

/**
 * wasm threads for a page: every core it may use when it is cross-origin isolated (threads need
 * SharedArrayBuffer), else 1. onnxruntime-web's own default is half the cores, at most 4, which is
 * one thread on a 2-core machine; with both cores vitkit ran 1.4–1.8× faster there. A `threads`
 * option, or `ort.env.wasm.numThreads` set before the first session, wins.
 */
export function pageWasmThreads(page: { crossOriginIsolated?: boolean; navigator?: { hardwareConcurrency?: number } }): number {
  if (!page.crossOriginIsolated) return 1;
  return Math.max(1, page.navigator?.hardwareConcurrency ?? 1);
}
