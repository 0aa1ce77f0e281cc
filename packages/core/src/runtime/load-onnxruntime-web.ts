import { VitkitError } from '../errors/vitkit-error.js';
import type { Device } from './device.js';
import type { OrtModule } from './onnxruntime-api.js';

/**
 * The onnxruntime-web build each device loads. wasm takes the wasm-only build (`onnxruntime-web/wasm`,
 * a 14 MB .wasm) rather than the package's default JSEP build (28 MB, WebGPU included): in Chromium on
 * dinov2-small that cut the renderer's peak by ~100 MB and the first run from ~1.4 s to ~0.45 s.
 * The two builds are separate modules with separate `env`s; a page using both loads both.
 */
const BUILDS = { wasm: 'onnxruntime-web/wasm', webgpu: 'onnxruntime-web' } as const;
const loading = new Map<keyof typeof BUILDS, Promise<OrtModule>>();

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
  let ort = loading.get(device);
  if (!ort) {
    // Literal specifiers, so that bundlers see (and split out) each build.
    ort = (device === 'wasm' ? import('onnxruntime-web/wasm') : import('onnxruntime-web')).then(
      (mod) => {
        const ort = (
          (mod as unknown as { InferenceSession?: unknown }).InferenceSession ? mod : (mod as unknown as { default: OrtModule }).default
        ) as OrtModule;
        if (ort.env.wasm) ort.env.wasm.numThreads ??= pageWasmThreads(globalThis);
        return ort;
      },
      (cause) => {
        loading.delete(device);
        throw new VitkitError(
          'BACKEND_PACKAGE_MISSING',
          `The "${device}" device needs the onnxruntime-web package (${BUILDS[device]}): npm i onnxruntime-web.`,
          { cause },
        );
      },
    );
    loading.set(device, ort);
  }
  return ort;
}

/**
 * wasm threads for a page: every core it may use when it is cross-origin isolated (threads need
 * SharedArrayBuffer), else 1. onnxruntime-web's own default is half the cores, at most 4, which is
 * one thread on a 2-core machine; with both cores vitkit ran 1.4–1.8× faster there. A `threads`
 * option, or `env.wasm.numThreads` set on the build the device loads (see BUILDS) before its first
 * session, wins.
 */
export function pageWasmThreads(page: { crossOriginIsolated?: boolean; navigator?: { hardwareConcurrency?: number } }): number {
  if (!page.crossOriginIsolated) return 1;
  return Math.max(1, page.navigator?.hardwareConcurrency ?? 1);
}
