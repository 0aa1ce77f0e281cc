// Which backend and precision a load really gets: what the user asked for, adjusted to what this
// browser has (WebGPU adapter, its shader-f16 feature) and to what vitkit builds on each device
// (fp16 on WebGPU only, int8 on wasm only), with the reason shown to the user.
import type { PlaygroundDevice, PlaygroundDtype } from './model-client.js';

export interface GpuSupport {
  /** navigator.gpu gave an adapter. */
  adapter: boolean;
  /** The adapter has the shader-f16 feature (fp16 graphs need it). */
  shaderF16: boolean;
}

export interface BackendChoice {
  device: PlaygroundDevice;
  dtype: PlaygroundDtype;
  /** Why the choice differs from the request; undefined when it does not. */
  note?: string;
}

export function chooseBackend(device: PlaygroundDevice, dtype: PlaygroundDtype, gpu: GpuSupport): BackendChoice {
  if (device === 'webgpu' && !gpu.adapter) {
    const fallbackDtype = dtype === 'fp16' ? 'fp32' : dtype;
    return {
      device: 'wasm',
      dtype: fallbackDtype,
      note: `This browser offers no WebGPU adapter; running on wasm (${fallbackDtype}) instead.`,
    };
  }
  if (device === 'webgpu' && dtype === 'fp16' && !gpu.shaderF16) {
    return {
      device: 'wasm',
      dtype: 'fp32',
      note: 'This WebGPU adapter lacks shader-f16, which fp16 needs; running fp32 on wasm instead (pick fp32 to stay on WebGPU).',
    };
  }
  if (device === 'webgpu' && dtype === 'int8') {
    return { device: 'wasm', dtype: 'int8', note: 'int8 runs on wasm only; running int8 on wasm.' };
  }
  if (device === 'wasm' && dtype === 'fp16') {
    return { device: 'wasm', dtype: 'fp32', note: 'fp16 runs on WebGPU only; running fp32 on wasm.' };
  }
  return { device, dtype };
}

/** What navigator.gpu offers here (no adapter when the API is missing or refuses). */
export async function probeGpu(): Promise<GpuSupport> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<{ features: ReadonlySet<string> } | null> } }).gpu;
  if (!gpu) return { adapter: false, shaderF16: false };
  try {
    const adapter = await gpu.requestAdapter();
    return { adapter: adapter !== null, shaderF16: adapter?.features.has('shader-f16') ?? false };
  } catch {
    return { adapter: false, shaderF16: false };
  }
}
