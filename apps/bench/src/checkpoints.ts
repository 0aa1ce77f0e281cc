// The embedded default: configs of real checkpoints (apps/bench/configs/<name>/), turned into
// checkpoint folders with synthesized weights, written once into a cache and reused.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, open, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type StateDictSpec, safetensorsHeader, synthesizeWeights, type Tensor, type TensorSpec } from '@vitkit/core';
import { findFamily } from '@vitkit/models';

export const CONFIGS_DIR = fileURLToPath(new URL('../configs/', import.meta.url));

export interface DefaultModel {
  /** Folder under configs/ (the Hub name of the checkpoint whose config it is). */
  name: string;
  hubId: string;
  batches: number[];
  /** Warm runs per row on cpu and browser wasm. */
  runs: number;
  size?: [number, number];
  /** On webgpu when it is SwiftShader (~0.15 GFLOP/s here): only this model, at this small input. */
  swiftShaderWebgpu?: [number, number];
  /** The precisions timed for it (default: every one asked); a model this heavy keeps the default run short. */
  dtypes?: string[];
  /** Leave it out of Chromium's rows (default false): one run there takes longer than a row may. */
  nodeOnly?: boolean;
}

export const DEFAULT_MODELS: DefaultModel[] = [
  { name: 'dinov2-small', hubId: 'facebook/dinov2-small', batches: [1, 8], runs: 10 },
  { name: 'dino-vits16', hubId: 'facebook/dino-vits16', batches: [1, 8], runs: 10, swiftShaderWebgpu: [32, 32] },
  { name: 'dinov3-vits16-pretrain-lvd1689m', hubId: 'facebook/dinov3-vits16-pretrain-lvd1689m', batches: [1, 8], runs: 10 },
  { name: 'deit-small-distilled-patch16-224', hubId: 'facebook/deit-small-distilled-patch16-224', batches: [1, 8], runs: 10 },
  { name: 'swin-tiny-patch4-window7-224', hubId: 'microsoft/swin-tiny-patch4-window7-224', batches: [1, 8], runs: 10 },
  { name: 'swinv2-tiny-patch4-window8-256', hubId: 'microsoft/swinv2-tiny-patch4-window8-256', batches: [1, 8], runs: 10 },
  { name: 'detr-resnet-50', hubId: 'facebook/detr-resnet-50', batches: [1, 2], runs: 10, size: [800, 1066] },
  // DetrForSegmentation: detr-resnet-50 plus the mask head; id2label names the 133 COCO-panoptic categories at their ids ("N/A" elsewhere).
  // ~370 GFLOP an image (the mask head over 100 queries at a quarter of the input): batch 1, cpu fp32 and int8,
  // 3 runs, no browser rows, so the default run stays short; `--models detr-resnet-50-panoptic --batch 1,2` for more.
  {
    name: 'detr-resnet-50-panoptic',
    hubId: 'facebook/detr-resnet-50-panoptic',
    batches: [1],
    runs: 3,
    size: [800, 1066],
    dtypes: ['fp32', 'int8'],
    nodeOnly: true,
  },
  // GroundingDinoForObjectDetection (Swin-T + BERT-base, 6 + 6 deformable layers, 900 queries) on the prompt
  // "a cat. a remote control." (9 tokens): several seconds an image here, so batch 1, 2 runs, cpu fp32 and int8.
  {
    name: 'grounding-dino-tiny',
    hubId: 'IDEA-Research/grounding-dino-tiny',
    batches: [1],
    runs: 2,
    size: [800, 1066],
    dtypes: ['fp32', 'int8'],
    nodeOnly: true,
  },
];

export function defaultCacheDir(): string {
  return process.env.VITKIT_BENCH_CACHE ?? join(tmpdir(), 'vitkit-bench-checkpoints');
}

const GENERATOR_VERSION = '2';

/**
 * A checkpoint folder (config.json, preprocessor_config.json, model.safetensors) for a config with
 * synthesized weights. Keyed by the config's hash, so an edited config gets new weights.
 */
export async function syntheticCheckpoint(configDir: string, cacheDir: string, label: string): Promise<string> {
  const configText = readFileSync(join(configDir, 'config.json'), 'utf8');
  const preprocessorPath = join(configDir, 'preprocessor_config.json');
  const hash = createHash('sha256').update(GENERATOR_VERSION).update(configText).digest('hex').slice(0, 12);
  const dir = join(cacheDir, `${label.replace(/[^\w.-]+/g, '_')}-${hash}`);
  if (existsSync(join(dir, 'model.safetensors'))) return dir;
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'config.json'), configText);
  if (existsSync(preprocessorPath)) await writeFile(join(dir, 'preprocessor_config.json'), readFileSync(preprocessorPath));
  // The registered family declares the state dict the config implies; the values are seeded.
  const config = JSON.parse(configText);
  const spec = findFamily(config).stateDictSpec(config);
  // Written under a temporary name and renamed, so an interrupted run never leaves half a checkpoint.
  const tmp = join(dir, `model.safetensors.${process.pid}.tmp`);
  await writeStreamed(tmp, spec);
  await rename(tmp, join(dir, 'model.safetensors'));
  return dir;
}

/**
 * The bytes writeSafetensors would give, written a tensor at a time: each is synthesized (seeded by its
 * name, so alone it is what it is in the whole set), written and let go. A multi-GiB checkpoint
 * (dinov2-giant) costs one tensor of memory, and fits no single buffer anyway.
 */
async function writeStreamed(path: string, spec: StateDictSpec): Promise<void> {
  const names = [...spec.keys()].sort(); // writeSafetensors' order
  const tensor = (name: string) => synthesizeWeights(new Map([[name, spec.get(name) as TensorSpec]])).get(name) as Tensor;
  const header = safetensorsHeader(
    names.map((name) => {
      const s = spec.get(name) as TensorSpec;
      return { name, dtype: s.value?.dtype ?? 'float32', shape: s.shape }; // synthesized values are float32; buffers keep theirs
    }),
    { format: 'pt', vitkit: 'synthesized weights for benchmarking' },
  );
  const file = await open(path, 'w');
  try {
    await file.write(header);
    for (const name of names) {
      const { data } = tensor(name);
      await file.write(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    }
  } finally {
    await file.close();
  }
}
