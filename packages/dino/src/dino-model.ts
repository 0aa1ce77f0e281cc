import {
  type GraphBuilder,
  type GraphOutputs,
  type GraphRequest,
  type ImageSource,
  type ModelOptions,
  type PreprocessorConfig,
  type PretrainedFiles,
  type PretrainedOptions,
  type RawConfig,
  type RgbImage,
  Tensor,
  type Value,
  VisionModel,
  VitkitError,
} from '@vitkit/core/internal';
import { buildDinoGraph, type DinoSpec, readDinoSpec } from './model.js';
import { patchPcaImage } from './patch-pca.js';
import { pixelValuesToRgb, renderHeatmapOverlay, upscaleNearest } from './visualize.js';

export type DinoLoadOptions = ModelOptions & PretrainedOptions;

/** Images, or pixel_values already preprocessed ([B, 3, H, W] float32). */
export type DinoInput = ImageSource | ImageSource[] | Tensor;

export interface DinoEmbeddings {
  /** [B, C]: the CLS token after the final layer norm. */
  cls: Tensor<'float32'>;
  /** [B, h, w, C]: patch tokens on their grid. */
  patches: Tensor<'float32'>;
  /** [B, C]: `pooler_output` (DINOv2, DINOv3: the normalised CLS; ViT: dense + tanh when the checkpoint has a pooler). */
  pooled?: Tensor<'float32'>;
  /** [B, R, C]: register tokens (DINOv2 with registers, DINOv3). */
  registers?: Tensor<'float32'>;
}

export interface AttentionMaps {
  /** [heads, h, w]: each head's attention from CLS to every patch, last layer. */
  maps: Tensor<'float32'>;
  gridH: number;
  gridW: number;
  /** The image as the model saw it (after resize and crop). */
  view: RgbImage;
  /** Heat map over `view`: one head, or the mean of all heads (default). */
  overlay(head?: number): RgbImage;
}

/**
 * A DINO-family checkpoint (ViT/DINO v1, DINOv2, DINOv2 with registers, with or without a
 * classifier, DINOv3) ready to run. `Dinov3`, `Dinov2` and `Dino` are its user-facing names.
 */
export class DinoModel extends VisionModel {
  readonly spec: DinoSpec;

  constructor(files: PretrainedFiles, options: ModelOptions = {}) {
    super(files, options);
    this.spec = readDinoSpec(files.config, files.weights);
    const accepted = (this.constructor as typeof DinoModel).accepts;
    if (!accepted.includes(this.spec.flavour)) {
      throw new VitkitError(
        'MODEL_TYPE_UNSUPPORTED',
        `${this.constructor.name} loads ${accepted.join(' or ')} checkpoints; ${files.source} is ${this.spec.architecture}. Use ${USER_CLASS[this.spec.flavour]} (or DinoModel / AutoModel).`,
      );
    }
  }

  /** The checkpoint flavours this class loads (`Dino`: ViT; `Dinov2`: DINOv2 with or without registers; `Dinov3`). */
  static readonly accepts: readonly DinoSpec['flavour'][] = ['vit', 'dinov2', 'dinov2_with_registers', 'dinov3'];

  override get hasClassifier(): boolean {
    return this.spec.classifier;
  }

  get architecture(): string {
    return this.spec.architecture;
  }

  protected override defaultProcessorConfig(): PreprocessorConfig {
    return dinoDefaultProcessor(this.spec.flavour);
  }

  protected buildGraph(g: GraphBuilder, inputs: Readonly<Record<string, Value>>, request: GraphRequest): GraphOutputs {
    return buildDinoGraph(g, inputs, this.spec, this.files.weights, request);
  }

  /** CLS, patch (on their grid), pooled and register embeddings. */
  async embed(input: DinoInput): Promise<DinoEmbeddings> {
    if (this.spec.classifier) {
      throw new VitkitError(
        'INVALID_ARGUMENT',
        `${this.architecture} returns logits, not embeddings; use classify(), or load the base model.`,
      );
    }
    const pixels = await this.pixelValues(input);
    const out = await this.run({ pixel_values: pixels });
    return this.splitTokens(out.last_hidden_state as Tensor<'float32'>, pixels, out.pooler_output as Tensor<'float32'> | undefined);
  }

  /** Last-layer CLS→patch attention per head, the maps DINO finds objects with. */
  async attentionMaps(image: ImageSource | Tensor): Promise<AttentionMaps> {
    const pixels = await this.pixelValues(image);
    if (pixels.shape[0] !== 1) throw new VitkitError('INVALID_ARGUMENT', 'attentionMaps takes one image.');
    const out = await this.run({ pixel_values: pixels }, { outputAttentions: true });
    const probs = out.attentions_last; // [1, H, T, T]
    const [, heads, tokens] = probs.shape;
    const { gridH, gridW } = this.grid(pixels);
    const first = 1 + this.spec.registers;
    const maps = new Float32Array(heads * gridH * gridW);
    const p = probs.data as Float32Array;
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < gridH * gridW; i++) maps[h * gridH * gridW + i] = p[h * tokens * tokens + first + i]; // row 0 = CLS
    }
    const view = this.view(pixels);
    const mapsTensor = new Tensor('float32', maps, [heads, gridH, gridW]);
    return {
      maps: mapsTensor,
      gridH,
      gridW,
      view,
      overlay: (head?: number) => renderHeatmapOverlay(view, selectHead(maps, heads, gridH * gridW, head), gridH, gridW),
    };
  }

  /** The first three principal components of the patch features as RGB, one block per patch. */
  async pcaImage(image: ImageSource | Tensor): Promise<RgbImage> {
    const { patches } = await this.embed(image);
    const [b, gridH, gridW, c] = patches.shape;
    if (b !== 1) throw new VitkitError('INVALID_ARGUMENT', 'pcaImage takes one image.');
    return upscaleNearest(patchPcaImage(patches.data, gridH * gridW, c, gridH, gridW), this.spec.patch[0]);
  }

  private grid(pixels: Tensor) {
    return { gridH: Math.floor(pixels.shape[2] / this.spec.patch[0]), gridW: Math.floor(pixels.shape[3] / this.spec.patch[1]) };
  }

  private view(pixels: Tensor): RgbImage {
    let mean = [0.5, 0.5, 0.5];
    let std = [0.5, 0.5, 0.5];
    try {
      ({ imageMean: mean, imageStd: std } = this.imageProcessor.options);
    } catch {
      // No processor config: pixel values were given directly; assume HF's standard normalisation.
    }
    return pixelValuesToRgb(pixels, 0, mean, std);
  }

  private splitTokens(seq: Tensor<'float32'>, pixels: Tensor, pooled?: Tensor<'float32'>): DinoEmbeddings {
    const [b, tokens, c] = seq.shape;
    const { gridH, gridW } = this.grid(pixels);
    const r = this.spec.registers;
    const pick = (from: number, count: number) => {
      const out = new Float32Array(b * count * c);
      for (let i = 0; i < b; i++) out.set(seq.data.subarray((i * tokens + from) * c, (i * tokens + from + count) * c), i * count * c);
      return out;
    };
    return {
      cls: new Tensor('float32', pick(0, 1), [b, c]),
      patches: new Tensor('float32', pick(1 + r, gridH * gridW), [b, gridH, gridW, c]),
      pooled,
      registers: r > 0 ? new Tensor('float32', pick(1, r), [b, r, c]) : undefined,
    };
  }
}

/** DINOv2 (with or without registers, with or without a linear head). */
export class Dinov2 extends DinoModel {
  static override readonly accepts: readonly DinoSpec['flavour'][] = ['dinov2', 'dinov2_with_registers'];
}

/** DINOv3 (facebook/dinov3-vit*-pretrain-*: DINOv3ViTModel checkpoints). */
export class Dinov3 extends DinoModel {
  static override readonly accepts: readonly DinoSpec['flavour'][] = ['dinov3'];
}

/** DINO v1 (facebook/dino-vits8/16, dino-vitb8/16: ViTModel checkpoints). */
export class Dino extends DinoModel {
  static override readonly accepts: readonly DinoSpec['flavour'][] = ['vit'];
}

const USER_CLASS: Record<DinoSpec['flavour'], string> = {
  vit: 'Dino',
  dinov2: 'Dinov2',
  dinov2_with_registers: 'Dinov2',
  dinov3: 'Dinov3',
};

/** HF's processor classes for these checkpoints, with their constructor defaults. */
export function dinoDefaultProcessor(flavour: DinoSpec['flavour']): PreprocessorConfig {
  const type = flavour === 'vit' ? 'ViTImageProcessor' : flavour === 'dinov3' ? 'DINOv3ViTImageProcessorFast' : 'BitImageProcessor';
  return { image_processor_type: type };
}

/** The flavour a config.json is (by its class, else its `model_type`), for the default processor before any weights are read. */
export function flavourOfConfig(config: RawConfig): DinoSpec['flavour'] {
  const architectures = config.architectures;
  const arch = Array.isArray(architectures) ? architectures[0] : undefined;
  if (arch === 'DINOv3ViTModel' || config.model_type === 'dinov3_vit') return 'dinov3';
  if (arch === 'ViTModel' || config.model_type === 'vit') return 'vit';
  return 'dinov2';
}

function selectHead(maps: Float32Array, heads: number, size: number, head?: number): Float32Array {
  if (head !== undefined) {
    if (!Number.isInteger(head) || head < 0 || head >= heads) throw new VitkitError('INVALID_ARGUMENT', `head must be 0..${heads - 1}.`);
    return maps.subarray(head * size, (head + 1) * size);
  }
  const mean = new Float32Array(size);
  for (let h = 0; h < heads; h++) for (let i = 0; i < size; i++) mean[i] += maps[h * size + i] / heads;
  return mean;
}
