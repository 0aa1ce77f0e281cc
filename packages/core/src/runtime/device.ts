import type { AttentionKernelName } from '../attention/attention.js';

/** Where a model runs: onnxruntime-node's cpu/cuda/webgpu providers, or onnxruntime-web's wasm/webgpu. */
export type Device = 'cpu' | 'wasm' | 'webgpu' | 'cuda';

export const DEVICES: readonly Device[] = ['cpu', 'wasm', 'webgpu', 'cuda'];

/** Every backend here implements com.microsoft MultiHeadAttention, so the fused kernel is the default. */
export function defaultAttentionKernel(_device: Device): AttentionKernelName {
  return 'fused';
}
