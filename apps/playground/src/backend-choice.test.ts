import { describe, expect, it } from 'vitest';
import { chooseBackend } from './backend-choice.js';

const noGpu = { adapter: false, shaderF16: false };
const gpuNoF16 = { adapter: true, shaderF16: false };
const gpuF16 = { adapter: true, shaderF16: true };

describe('chooseBackend', () => {
  it('keeps what was asked for when this browser runs it', () => {
    expect(chooseBackend('wasm', 'fp32', noGpu)).toEqual({ device: 'wasm', dtype: 'fp32' });
    expect(chooseBackend('wasm', 'int8', noGpu)).toEqual({ device: 'wasm', dtype: 'int8' });
    expect(chooseBackend('webgpu', 'fp32', gpuNoF16)).toEqual({ device: 'webgpu', dtype: 'fp32' });
    expect(chooseBackend('webgpu', 'fp16', gpuF16)).toEqual({ device: 'webgpu', dtype: 'fp16' });
  });

  it('falls back to wasm, saying why, without a WebGPU adapter', () => {
    const choice = chooseBackend('webgpu', 'fp16', noGpu);
    expect(choice).toMatchObject({ device: 'wasm', dtype: 'fp32' });
    expect(choice.note).toMatch(/no WebGPU adapter/);
    expect(chooseBackend('webgpu', 'fp32', noGpu)).toMatchObject({ device: 'wasm', dtype: 'fp32' });
  });

  it('falls back to wasm fp32 when fp16 needs shader-f16 the adapter lacks', () => {
    const choice = chooseBackend('webgpu', 'fp16', gpuNoF16);
    expect(choice).toMatchObject({ device: 'wasm', dtype: 'fp32' });
    expect(choice.note).toMatch(/shader-f16/);
  });

  it('moves each precision to the device vitkit builds it for', () => {
    expect(chooseBackend('webgpu', 'int8', gpuF16)).toMatchObject({ device: 'wasm', dtype: 'int8' });
    expect(chooseBackend('wasm', 'fp16', gpuF16)).toMatchObject({ device: 'wasm', dtype: 'fp32' });
  });
});
