import type { AttentionKernelName } from '../attention/attention.js';
import type { DeformableSamplingKernelName } from '../attention/deformable-attention.js';
import { VitkitError } from '../errors/vitkit-error.js';
import { WEIGHT_PRECISIONS, type WeightPrecision } from '../graph/precision/weight-precision.js';

// Device policy: what each backend gets from the graph layer below (which kernel, which precisions).

/** Where a model runs: onnxruntime-node's cpu/cuda/webgpu providers, or onnxruntime-web's wasm/webgpu. */
export type Device = 'cpu' | 'wasm' | 'webgpu' | 'cuda';

export const DEVICES: readonly Device[] = ['cpu', 'wasm', 'webgpu', 'cuda'];

/** Every backend here implements com.microsoft MultiHeadAttention, so the fused kernel is the default. */
export function defaultAttentionKernel(_device: Device): AttentionKernelName {
  return 'fused';
}

/**
 * onnxruntime's cpu kernels (and so wasm's) run ONNX GridSample at opset 21; its WebGPU provider
 * registers GridSample for opsets 16–19 only, so in our opset-21 graphs that node would fall back to
 * the CPU, copying every value map off the GPU: WebGPU gets the gather kernel instead. (cuda keeps
 * GridSample; not run here.)
 */
export function defaultDeformableSamplingKernel(device: Device): DeformableSamplingKernelName {
  return device === 'webgpu' ? 'gather' : 'grid-sample';
}

/**
 * Devices each precision is built for and tested on (others are refused with a pointer to these).
 * wasm runs the same com.microsoft int8/int4 kernels as cpu (onnxruntime-web's build has them): on a
 * ViT-S block stack in Node's onnxruntime-web int8 ran 2.6× fp32's speed, int4 about half of fp32's.
 */
const PRECISION_DEVICES: Record<WeightPrecision, readonly Device[]> = {
  fp32: ['cpu', 'wasm', 'webgpu', 'cuda'],
  fp16: ['webgpu', 'cuda'],
  int8: ['cpu', 'wasm'],
  int4: ['cpu', 'wasm'],
};

export function checkPrecisionDevice(precision: WeightPrecision, device: Device): void {
  if (!WEIGHT_PRECISIONS.includes(precision)) {
    throw new VitkitError('INVALID_ARGUMENT', `dtype "${precision}" is not one of ${WEIGHT_PRECISIONS.join(', ')}.`);
  }
  const ok = PRECISION_DEVICES[precision];
  if (!ok.includes(device)) {
    throw new VitkitError(
      'INVALID_ARGUMENT',
      `dtype "${precision}" is not available on the "${device}" device; use it on ${ok.join(' or ')}, or use dtype "fp32" on ${device}.`,
    );
  }
}
