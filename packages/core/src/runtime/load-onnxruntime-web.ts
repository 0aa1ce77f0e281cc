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
    (mod) =>
      ((mod as unknown as { InferenceSession?: unknown }).InferenceSession
        ? mod
        : (mod as unknown as { default: OrtModule }).default) as OrtModule,
    (cause) => {
      loading = undefined;
      throw new VitkitError('BACKEND_PACKAGE_MISSING', `The "${device}" device needs the onnxruntime-web package: npm i onnxruntime-web.`, {
        cause,
      });
    },
  );
  return loading;
}
