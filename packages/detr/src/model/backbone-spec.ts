import { ConfigReader, type RawConfig, VitkitError, type WeightStore } from '@vitkit/core/internal';

/**
 * The convolutional backbone of a DETR checkpoint, as a plain description read from config.json and
 * the weights: which convolutions (each followed by a frozen batch norm), with which stride,
 * padding and dilation. Channel widths and block counts come from the weight shapes, never from a
 * table, so timm's `backbone_kwargs` (channels, layers) and any HF `ResNetConfig` just work.
 */

/** One `conv → frozen batch norm` pair. Keys are relative to the backbone's weight scope. */
export interface ConvBnSpec {
  /** Conv weight key, e.g. `layer1.0.conv1.weight` (timm) or `embedder.embedder.convolution.weight` (HF). */
  conv: string;
  /** Batch-norm key prefix: `<bn>.weight`, `.bias`, `.running_mean`, `.running_var`. */
  bn: string;
  stride: number;
  padding: number;
  dilation: number;
}

/** A residual block: convs with ReLU between them, plus the shortcut; `relu(convs(x) + shortcut(x))`. */
export interface ResidualBlockSpec {
  name: string;
  convs: ConvBnSpec[];
  /** Projection shortcut (timm `downsample`, HF `shortcut`); identity when absent. */
  shortcut?: ConvBnSpec;
}

export interface BackboneSpec {
  /** Which key naming the checkpoint uses. */
  naming: 'timm' | 'hf';
  /** Human-readable, for errors and graph names (e.g. `timm resnet50`, `HF ResNet (basic)`). */
  description: string;
  stem: ConvBnSpec;
  /** 3x3 stride-2 max pool after the stem (both timm and HF ResNets have it). */
  stemPool: boolean;
  /** Blocks per stage, up to the stage DETR takes its feature map from. */
  stages: ResidualBlockSpec[][];
  /** Channels of the feature map handed to the input projection. */
  channels: number;
}

/** Where the backbone's weights live under a DETR checkpoint's `model.` (or bare) prefix. */
export const BACKBONE_SCOPE = 'backbone.conv_encoder.model.';

/** torch / timm `get_padding`: the symmetric padding that keeps "same"-style alignment. */
const timmPadding = (kernel: number, stride: number, dilation: number) => Math.floor((stride - 1 + dilation * (kernel - 1)) / 2);

const unsupported = (message: string) => new VitkitError('MODEL_TYPE_UNSUPPORTED', message);

function kernelOf(w: WeightStore, key: string): number {
  const shape = w.shapeOf(key);
  if (shape.length !== 4)
    throw new VitkitError('WEIGHTS_SHAPE_MISMATCH', `${w.source}: "${key}" must be a 4-D conv weight, got [${shape.join(', ')}].`);
  return shape[2];
}

/**
 * Reads the backbone description for `use_timm_backbone` true or false. `dilation` (DC5) applies to
 * timm backbones only: transformers builds an HF `ResNetBackbone` from `backbone_config` alone and
 * ignores it there, and so does this.
 */
export function readBackboneSpec(raw: RawConfig, w: WeightStore): BackboneSpec {
  const c = new ConfigReader(raw);
  return usesTimmBackbone(raw) ? readTimmResNet(c, w) : readHfResNet(c, w);
}

/**
 * `use_timm_backbone` as written; transformers 5.x no longer stores it and describes an HF
 * backbone by `backbone_config` alone, so without the key an object there means the HF ResNet
 * (4.x's default, timm, otherwise).
 */
export function usesTimmBackbone(raw: RawConfig): boolean {
  const c = new ConfigReader(raw);
  const explicit = c.optional<boolean>('use_timm_backbone');
  if (explicit !== undefined && explicit !== null) return c.bool('use_timm_backbone');
  const backboneConfig = raw.backbone_config;
  return !(typeof backboneConfig === 'object' && backboneConfig !== null);
}

// ---------------------------------------------------------------------------------------------
// timm: `create_model(backbone, features_only=True, out_indices=(1, 2, 3, 4), output_stride=16 if dilation, **backbone_kwargs)`
// keys conv1 / bn1 / layer{1..4}.{i}.{conv,bn}{1..3} / downsample.{0,1}

const TIMM_RESNET = /^(timm\/)?(resnet|resnext|wide_resnet)\d+[a-z]?(\.[\w-]+)?$/;

function readTimmResNet(c: ConfigReader, w: WeightStore): BackboneSpec {
  const name = c.optional<string>('backbone');
  if (name === undefined) {
    throw new VitkitError(
      'CONFIG_MISSING_KEY',
      'config.json has use_timm_backbone: true but no "backbone" (the timm model name, e.g. "resnet50").',
    );
  }
  if (typeof name !== 'string' || !TIMM_RESNET.test(name)) {
    throw unsupported(
      `@vitkit/detr builds timm ResNet backbones (resnet18/34/50/101/152, resnext, wide_resnet); "${String(name)}" is not one.`,
    );
  }
  const kwargs = (c.optional<Record<string, unknown>>('backbone_kwargs') ?? {}) as Record<string, unknown>;
  const outIndices = (kwargs.out_indices as number[] | undefined) ?? [1, 2, 3, 4];
  const last = outIndices[outIndices.length - 1];
  if (!Number.isInteger(last) || last < 1 || last > 4) {
    throw unsupported(
      `backbone_kwargs.out_indices must end with a stage 1..4 (DETR uses the last one), got ${JSON.stringify(outIndices)}.`,
    );
  }
  const outputStride = (kwargs.output_stride as number | undefined) ?? (c.bool('dilation', false) ? 16 : 32);
  if (![8, 16, 32].includes(outputStride)) throw unsupported(`timm ResNet output_stride must be 8, 16 or 32, got ${outputStride}.`);
  if (!w.has('conv1.weight') || !w.has('bn1.weight')) {
    throw unsupported(
      `${w.source} has no conv1/bn1: only timm ResNets with the plain 7x7 stem are supported (not deep-stem "d"/"s" variants).`,
    );
  }

  const stemKernel = kernelOf(w, 'conv1.weight');
  const stem: ConvBnSpec = { conv: 'conv1.weight', bn: 'bn1', stride: 2, padding: Math.floor(stemKernel / 2), dilation: 1 };
  // timm ResNet.make_blocks: stride/dilation per stage so that the net stride never passes output_stride.
  let netStride = 4;
  let dilation = 1;
  let prevDilation = 1;
  const stages: ResidualBlockSpec[][] = [];
  let channels = w.shapeOf('conv1.weight')[0];
  for (let s = 1; s <= last; s++) {
    let stride = s === 1 ? 1 : 2;
    if (netStride >= outputStride) {
      dilation *= stride;
      stride = 1;
    } else {
      netStride *= stride;
    }
    const blocks: ResidualBlockSpec[] = [];
    for (let i = 0; w.has(`layer${s}.${i}.conv1.weight`); i++) {
      const p = `layer${s}.${i}.`;
      const blockStride = i === 0 ? stride : 1;
      const firstDilation = prevDilation;
      checkKnownKeys(w, p, /^(conv[123]|bn[123])\.|^downsample\.[01]\./, 'timm ResNet block');
      const bottleneck = w.has(`${p}conv3.weight`);
      const convs: ConvBnSpec[] = bottleneck
        ? [
            { conv: `${p}conv1.weight`, bn: `${p}bn1`, stride: 1, padding: 0, dilation: 1 },
            { conv: `${p}conv2.weight`, bn: `${p}bn2`, stride: blockStride, padding: firstDilation, dilation: firstDilation },
            { conv: `${p}conv3.weight`, bn: `${p}bn3`, stride: 1, padding: 0, dilation: 1 },
          ]
        : [
            { conv: `${p}conv1.weight`, bn: `${p}bn1`, stride: blockStride, padding: firstDilation, dilation: firstDilation },
            { conv: `${p}conv2.weight`, bn: `${p}bn2`, stride: 1, padding: dilation, dilation },
          ];
      let shortcut: ConvBnSpec | undefined;
      if (w.has(`${p}downsample.0.weight`)) {
        // timm downsample_conv: a 1x1 kernel when neither strided nor dilated, else down_kernel_size.
        const k = kernelOf(w, `${p}downsample.0.weight`);
        const d = k > 1 ? firstDilation : 1;
        shortcut = {
          conv: `${p}downsample.0.weight`,
          bn: `${p}downsample.1`,
          stride: blockStride,
          padding: timmPadding(k, blockStride, d),
          dilation: d,
        };
      }
      blocks.push({ name: `layer${s}.${i}`, convs, shortcut });
      prevDilation = dilation;
      channels = w.shapeOf(convs[convs.length - 1].conv)[0];
    }
    if (blocks.length === 0)
      throw new VitkitError('WEIGHTS_MISSING_TENSOR', `${w.source} has no blocks for layer${s} (expected layer${s}.0.conv1.weight).`);
    stages.push(blocks);
  }
  return { naming: 'timm', description: `timm ${name}`, stem, stemPool: true, stages, channels };
}

// ---------------------------------------------------------------------------------------------
// transformers ResNetBackbone (`use_timm_backbone: false`, `backbone_config.model_type == "resnet"`)
// keys embedder.embedder.{convolution,normalization} / encoder.stages.{s}.layers.{i}.{layer.{j},shortcut}.{convolution,normalization}

function readHfResNet(c: ConfigReader, w: WeightStore): BackboneSpec {
  const raw = c.optional<RawConfig>('backbone_config');
  if (raw === undefined) {
    const named = c.optional<string>('backbone');
    throw new VitkitError(
      'CONFIG_MISSING_KEY',
      `config.json has use_timm_backbone: false but no "backbone_config"${named ? ` (only a backbone name, "${named}", which would need its own config)` : ''}; save the model with its ResNetConfig.`,
    );
  }
  const b = new ConfigReader(raw, 'config.json backbone_config');
  const modelType = b.string('model_type');
  if (modelType !== 'resnet') throw unsupported(`@vitkit/detr builds ResNet backbones; backbone_config.model_type is "${modelType}".`);
  const act = b.string('hidden_act', 'relu');
  if (act !== 'relu') throw unsupported(`ResNet hidden_act "${act}" is not supported (only "relu").`);
  const layerType = b.string('layer_type', 'bottleneck');
  if (layerType !== 'basic' && layerType !== 'bottleneck')
    throw unsupported(`ResNet layer_type "${layerType}" is not "basic" or "bottleneck".`);
  const depths = b.intArray('depths');
  const downsampleInFirstStage = b.bool('downsample_in_first_stage', false);
  const downsampleInBottleneck = b.bool('downsample_in_bottleneck', false);
  const stageNames = (b.optional<string[]>('stage_names') ?? ['stem', ...depths.map((_, i) => `stage${i + 1}`)]) as string[];
  const outFeatures = b.optional<string[]>('out_features') ?? [stageNames[stageNames.length - 1]];
  const lastName = outFeatures[outFeatures.length - 1];
  const last = stageNames.indexOf(lastName);
  if (last < 1 || last > depths.length)
    throw unsupported(`backbone_config.out_features must end with a stage (stage1..stage${depths.length}), got "${lastName}".`);

  const stemKey = 'embedder.embedder.convolution.weight';
  const stem: ConvBnSpec = {
    conv: stemKey,
    bn: 'embedder.embedder.normalization',
    stride: 2,
    padding: Math.floor(kernelOf(w, stemKey) / 2),
    dilation: 1,
  };
  const conv = (key: string, stride: number): ConvBnSpec => ({
    conv: `${key}.convolution.weight`,
    bn: `${key}.normalization`,
    stride,
    padding: Math.floor(kernelOf(w, `${key}.convolution.weight`) / 2),
    dilation: 1,
  });
  const stages: ResidualBlockSpec[][] = [];
  let channels = w.shapeOf(stemKey)[0];
  for (let s = 0; s < last; s++) {
    const stageStride = s === 0 ? (downsampleInFirstStage ? 2 : 1) : 2;
    const blocks: ResidualBlockSpec[] = [];
    for (let i = 0; i < depths[s]; i++) {
      const p = `encoder.stages.${s}.layers.${i}.`;
      checkKnownKeys(w, p, /^(layer\.[0-2]|shortcut)\.(convolution|normalization)\./, 'HF ResNet layer');
      const stride = i === 0 ? stageStride : 1;
      const convs =
        layerType === 'bottleneck'
          ? [
              conv(`${p}layer.0`, downsampleInBottleneck ? stride : 1),
              conv(`${p}layer.1`, downsampleInBottleneck ? 1 : stride),
              conv(`${p}layer.2`, 1),
            ]
          : [conv(`${p}layer.0`, stride), conv(`${p}layer.1`, 1)];
      const shortcut = w.has(`${p}shortcut.convolution.weight`) ? conv(`${p}shortcut`, stride) : undefined;
      blocks.push({ name: `stages.${s}.layers.${i}`, convs, shortcut });
      channels = w.shapeOf(convs[convs.length - 1].conv)[0];
    }
    stages.push(blocks);
  }
  return { naming: 'hf', description: `HF ResNet (${layerType})`, stem, stemPool: true, stages, channels };
}

/** A block with keys we do not know (squeeze-excite, anti-aliasing, avg-pool shortcut…) would be silently mis-built. */
function checkKnownKeys(w: WeightStore, prefix: string, known: RegExp, what: string): void {
  for (const key of w.keys()) {
    if (!key.startsWith(prefix)) continue;
    const rest = key.slice(prefix.length);
    if (rest.endsWith('num_batches_tracked')) continue;
    if (!known.test(rest))
      throw unsupported(`${w.source}: "${key}" is not part of a plain ${what}; this backbone variant is not supported.`);
  }
}
