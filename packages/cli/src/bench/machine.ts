// The machine a bench ran on, and what its webgpu really is.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, totalmem } from 'node:os';

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGb: number;
  platform: string;
  node: string;
  onnxruntimeNode: string;
  vitkit: string;
  /** The best ceiling measured in this run per ceiling name ('cpu fp32', 'cpu int8', …), GFLOP/s; each row names its own. */
  ceilingGflops: Record<string, number>;
}

export function machineInfo(ceilingGflops: Record<string, number> = {}): MachineInfo {
  const require = createRequire(import.meta.url);
  const version = (pkg: string) => {
    try {
      return (require(`${pkg}/package.json`) as { version: string }).version;
    } catch {
      return 'not installed';
    }
  };
  const cpuList = cpus();
  return {
    cpu: cpuList[0]?.model.trim() ?? 'unknown',
    cores: cpuList.length,
    memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    platform: `${process.platform}-${process.arch}`,
    node: process.version,
    onnxruntimeNode: version('onnxruntime-node'),
    vitkit: version('@vitkit/core'),
    ceilingGflops,
  };
}

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

const hasGpuDevice = () => existsSync('/dev/nvidia0') || existsSync('/dev/dri/renderD128');

/** On a machine without a GPU, point Dawn's Vulkan loader at Chromium's SwiftShader before the first webgpu session. */
export function useSwiftShaderIfNoGpu(): boolean {
  if (process.env.VK_ICD_FILENAMES || !existsSync(SWIFTSHADER_ICD) || hasGpuDevice()) return false;
  process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  return true;
}

/**
 * True when webgpu here (node, and Chromium launched from here) is SwiftShader — Vulkan on the CPU,
 * ~0.1–1 GFLOP/s — not a GPU: no GPU device, and the Vulkan driver is SwiftShader's, either named in
 * VK_ICD_FILENAMES or the one `useSwiftShaderIfNoGpu` would pick.
 */
export function webgpuIsSwiftShader(): boolean {
  if (hasGpuDevice()) return false;
  const icd = process.env.VK_ICD_FILENAMES;
  return icd ? /swiftshader/i.test(icd) : existsSync(SWIFTSHADER_ICD);
}
