// `pnpm bench:gpu-export`: vitkit's own graphs as the GPU machine runs them (built for device 'cuda',
// fp32 and fp16), with their float weights left out: each `model.onnx` points into a `model.data`
// that is not written, and `manifest.json` says what fills it (name, dtype, shape, offset, length).
// apps/bench/gpu/run_gpu.py fills it with random normals there and times the graphs next to PyTorch.
// Integer constants (indices, masks' shapes) stay inline: random values there would change the graph.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadPretrained } from '@vitkit/core';
import { encodeModel, type GraphParts, layoutExternalData, servedGraphParts } from '@vitkit/core/internal';
import { AutoModel, findFamily } from '@vitkit/models';
import { Command } from 'commander';
import { CONFIGS_DIR, defaultCacheDir, syntheticCheckpoint } from './checkpoints.js';

/** What the GPU table covers (issue: dinov2-small/base, deit-small, swin-tiny, detr-resnet-50). */
export const GPU_MODELS: readonly { name: string; batches: number[]; size?: [number, number] }[] = [
  { name: 'dinov2-small', batches: [1, 32] },
  { name: 'dinov2-base', batches: [1, 32] },
  { name: 'deit-small-distilled-patch16-224', batches: [1, 32] },
  { name: 'swin-tiny-patch4-window7-224', batches: [1, 32] },
  { name: 'detr-resnet-50', batches: [1, 4], size: [800, 1066] },
];
export const GPU_DTYPES = ['fp32', 'fp16'] as const;

/** ONNX TensorProto data types the runner fills with random normals. */
const FLOAT_TYPES: Record<number, 'float32' | 'float16' | 'bfloat16'> = { 1: 'float32', 10: 'float16', 16: 'bfloat16' };

export interface SkeletonManifest {
  model: string;
  architecture: string;
  dtype: (typeof GPU_DTYPES)[number];
  height: number;
  width: number;
  batches: number[];
  inputs: { name: string; dtype: string; shape: (number | string)[] }[];
  outputs: string[];
  /** The file the tensors below fill, and its size. */
  data: { file: 'model.data'; bytes: number };
  tensors: { name: string; dtype: 'float32' | 'float16' | 'bfloat16'; shape: number[]; offset: number; length: number }[];
}

/** The graph with its float initializers moved to a data file described, not written. */
export function skeletonOf(parts: GraphParts): { onnx: Uint8Array; data: { bytes: number }; tensors: SkeletonManifest['tensors'] } {
  const floats = parts.initializer.filter((t) => FLOAT_TYPES[t.dataType ?? 0] !== undefined);
  const others = parts.initializer.filter((t) => FLOAT_TYPES[t.dataType ?? 0] === undefined);
  const layout = layoutExternalData({ ...parts, initializer: floats }, { location: 'model.data', minBytes: 0 });
  const tensors = layout.parts.initializer.map((t, i) => ({
    name: t.name ?? '',
    dtype: FLOAT_TYPES[t.dataType ?? 0],
    shape: (t.dims ?? []).map(Number),
    offset: layout.slices[i].offset,
    length: layout.slices[i].data.byteLength,
  }));
  const onnx = encodeModel({ ...layout.parts, initializer: [...layout.parts.initializer, ...others] });
  return { onnx, data: { bytes: layout.byteLength }, tensors };
}

/** Writes `<out>/<model>-<dtype>/{model.onnx, manifest.json, config.json}` for each checkpoint and dtype. */
export async function exportSkeletons(
  targets: readonly { name: string; checkpoint: string; batches: number[]; size?: [number, number] }[],
  out: string,
): Promise<string[]> {
  const written: string[] = [];
  for (const t of targets) {
    const files = await loadPretrained(t.checkpoint);
    const [height, width] = t.size ?? findFamily(files.config).defaultInputSize(files.config, files.preprocessorConfig);
    for (const dtype of GPU_DTYPES) {
      // Built as it runs on CUDA: the device's attention kernel and precision passes.
      const model = AutoModel.fromFiles(files, { device: 'cuda', dtype });
      const inputs = model.inputSpecs.filter((s) => !s.optional || s.name === 'pixel_mask');
      const parts = servedGraphParts(model.runGraphFor(height, width, { inputs: inputs.map((s) => s.name) }), { weightPrecision: dtype });
      const { onnx, data, tensors } = skeletonOf(parts);
      const dir = join(out, `${t.name}-${dtype}`);
      await mkdir(dir, { recursive: true });
      const manifest: SkeletonManifest = {
        model: t.name,
        architecture: model.architecture,
        dtype,
        height,
        width,
        batches: t.batches,
        inputs: inputs.map((s) => ({
          name: s.name,
          dtype: s.dtype,
          shape: s.shape.map((d) => (d === 'height' ? height : d === 'width' ? width : d)),
        })),
        outputs: parts.output.map((o) => o.name ?? ''),
        data: { file: 'model.data', bytes: data.bytes },
        tensors,
      };
      await writeFile(join(dir, 'model.onnx'), onnx);
      await writeFile(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 1)}\n`);
      // PyTorch builds the same architecture from it there (transformers' from_config).
      await writeFile(join(dir, 'config.json'), JSON.stringify(files.config, null, 2));
      written.push(dir);
      await model.dispose();
    }
  }
  return written;
}

async function main(argv: string[]): Promise<void> {
  const program = new Command('vitkit-gpu-export')
    .description("Export vitkit's CUDA graphs (fp32, fp16) without their weights, for apps/bench/gpu/run_gpu.py on a GPU machine")
    .option('--out <dir>', 'where the skeleton folders go', 'gpu-skeletons')
    .option('--models <list>', `subset: ${GPU_MODELS.map((m) => m.name).join(', ')}`)
    .option('--cache-dir <dir>', 'where synthesized checkpoints are kept (configs → shapes only; the values are not exported)');
  program.parse(argv);
  const o = program.opts<{ out: string; models?: string; cacheDir?: string }>();
  const wanted = o.models ? o.models.split(',') : GPU_MODELS.map((m) => m.name);
  const targets = [];
  for (const m of GPU_MODELS.filter((x) => wanted.includes(x.name))) {
    targets.push({ ...m, checkpoint: await syntheticCheckpoint(join(CONFIGS_DIR, m.name), o.cacheDir ?? defaultCacheDir(), m.name) });
  }
  for (const dir of await exportSkeletons(targets, o.out)) process.stdout.write(`${dir}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv).catch((error) => {
    process.stderr.write(`vitkit-gpu-export: ${(error as Error)?.stack ?? error}\n`);
    process.exit(1);
  });
}
