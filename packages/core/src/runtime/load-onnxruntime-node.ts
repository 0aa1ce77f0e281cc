import { VitkitError } from '../errors/vitkit-error.js';
import type { Device } from './device.js';
import type { OrtModule } from './onnxruntime-api.js';

const cache = new Map<string, Promise<OrtModule>>();

/** Node: cpu, cuda and webgpu come from onnxruntime-node; wasm from onnxruntime-web. */
export function loadOnnxRuntime(device: Device): Promise<OrtModule> {
  const pkg = device === 'wasm' ? 'onnxruntime-web' : 'onnxruntime-node';
  let loading = cache.get(pkg);
  if (!loading) {
    loading = importRuntime(pkg, device);
    cache.set(pkg, loading);
  }
  return loading;
}

async function importRuntime(pkg: string, device: Device): Promise<OrtModule> {
  try {
    const mod = (await import(pkg)) as OrtModule & { default?: OrtModule };
    const ort = mod.InferenceSession ? mod : (mod.default as OrtModule);
    if (pkg === 'onnxruntime-web' && ort.env.wasm) {
      // One thread by default in Node: worker threads of the wasm build compete with the caller's.
      ort.env.wasm.numThreads ??= 1;
    }
    return ort;
  } catch (cause) {
    cache.delete(pkg);
    throw new VitkitError(
      'BACKEND_PACKAGE_MISSING',
      `The "${device}" device needs the ${pkg} package: install it beside vitkit (npm i ${pkg}).`,
      { cause },
    );
  }
}
