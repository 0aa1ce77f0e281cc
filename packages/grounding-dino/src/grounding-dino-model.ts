import {
  type ForwardOptions,
  type GraphBuilder,
  type GraphOutputs,
  type GraphRequest,
  type ImageSource,
  type InputSpec,
  loadImage,
  type ModelInputs,
  type ModelOptions,
  type PreprocessorConfig,
  type PretrainedFiles,
  type PretrainedOptions,
  Tensor,
  type Value,
  VisionModel,
  VitkitError,
} from '@vitkit/core/internal';
import type { Box } from '@vitkit/detr';
import { buildGroundingDinoGraph } from './model/graph.js';
import { type GroundingDinoSpec, readGroundingDinoSpec } from './model/spec.js';
import type { GroundedImageDetections, GroundingDinoDetectionOutputs } from './postprocess/grounded-detection.js';
import type { GroundingDinoProcessor } from './processor/grounding-dino-processor.js';
import { GROUNDING_DINO_DEFAULT_PROCESSOR } from './processor/image-processor.js';
import { loadGroundingDinoProcessor } from './processor/load-processor.js';
import { type GroundingPrompts, promptTexts, type TokenizedPrompts } from './processor/prompts.js';

export type GroundingDinoLoadOptions = ModelOptions & PretrainedOptions;

/** What a prompt found in an image: the phrase (from the tokens above `textThreshold`), its score, its box in pixels. */
export interface GroundingDinoDetection {
  label: string;
  score: number;
  /** `[x0, y0, x1, y1]` in the original image's pixels. */
  box: Box;
}

export interface GroundedDetectOptions {
  /** Keep boxes whose best token scores above this (default 0.25, as `post_process_grounded_object_detection`). */
  threshold?: number;
  /** A token joins a box's label when its score is above this (default 0.25). */
  textThreshold?: number;
  /** One prompt per image instead of the one given for all (same length as the images). */
  perImagePrompts?: readonly GroundingPrompts[];
}

export interface PostProcessGroundedModelOptions {
  /** The `input_ids` the outputs were computed from (they name the labels). */
  inputIds: Tensor | readonly (readonly number[])[];
  threshold?: number;
  textThreshold?: number;
  /** `(height, width)` per image to scale boxes to; normalised boxes without it. */
  targetSizes?: readonly (readonly [number, number])[];
}

/**
 * A GroundingDinoForObjectDetection checkpoint as one graph per image size: it takes the image
 * (`pixel_values`, `pixel_mask`) and the tokenised prompt (`input_ids`, `attention_mask`,
 * `token_type_ids`, int64 as the processor returns them) and returns Hugging Face's outputs
 * (`logits` [B, num_queries, max_text_len], `pred_boxes`, …). The batch and the prompt length stay
 * dynamic; the phrase mask and position ids are computed from `input_ids` in the graph.
 *
 * `detect(images, prompt)` goes images + prompt → GroundingDinoProcessor (the checkpoint's image
 * processor and BERT tokenizer, read from its files on first use) → model → grounded post-processing.
 */
export class GroundingDino extends VisionModel {
  readonly spec: GroundingDinoSpec;
  private processorLoad?: Promise<GroundingDinoProcessor>;

  constructor(files: PretrainedFiles, options: ModelOptions = {}) {
    super(files, options);
    this.spec = readGroundingDinoSpec(files.config, files.weights);
  }

  get architecture(): string {
    return this.spec.architecture;
  }

  override get inputSpecs(): readonly InputSpec[] {
    return [
      { name: 'pixel_values', dtype: 'float32', shape: ['batch', this.spec.backbone.channels, 'height', 'width'] },
      { name: 'pixel_mask', dtype: 'int64', shape: ['batch', 'height', 'width'] },
      { name: 'input_ids', dtype: 'int64', shape: ['batch', 'sequence'] },
      { name: 'attention_mask', dtype: 'int64', shape: ['batch', 'sequence'] },
      { name: 'token_type_ids', dtype: 'int64', shape: ['batch', 'sequence'] },
    ];
  }

  /**
   * Runs on preprocessed inputs. As transformers does, a missing `pixel_mask` or `attention_mask` is
   * all ones and missing `token_type_ids` all zeros. Token ids outside the vocabulary (or token types
   * outside `type_vocab_size`) are refused before onnxruntime sees them.
   */
  override async run(inputs: ModelInputs, options: ForwardOptions = {}): Promise<Record<string, Tensor>> {
    const { pixel_values: pixels, input_ids: ids } = inputs;
    const filled: ModelInputs = { ...inputs };
    if (pixels?.rank === 4 && !inputs.pixel_mask) {
      const [b, , h, w] = pixels.shape;
      filled.pixel_mask = new Tensor('int64', new BigInt64Array(b * h * w).fill(1n), [b, h, w]);
    }
    if (ids instanceof Tensor && ids.rank === 2) {
      if (ids.shape[0] === 0 || ids.shape[1] === 0) {
        throw new VitkitError('INPUT_SHAPE_INVALID', `input_ids [${ids.shape.join(', ')}] is empty: each prompt needs at least one token.`);
      }
      filled.attention_mask ??= new Tensor('int64', new BigInt64Array(ids.size).fill(1n), ids.shape);
      filled.token_type_ids ??= new Tensor('int64', new BigInt64Array(ids.size), ids.shape);
      checkIndices(ids, 'input_ids', this.spec.text.vocabSize);
      if (filled.token_type_ids instanceof Tensor) checkIndices(filled.token_type_ids, 'token_type_ids', this.spec.text.typeVocabSize);
    }
    return super.run(filled, options);
  }

  protected override defaultProcessorConfig(): PreprocessorConfig {
    return GROUNDING_DINO_DEFAULT_PROCESSOR;
  }

  /**
   * The checkpoint's processor: image processor and BERT tokenizer from its files (`preprocessor_config.json`
   * or `processor_config.json`; `tokenizer.json` or `vocab.txt`, with `tokenizer_config.json`), read once.
   */
  groundingProcessor(): Promise<GroundingDinoProcessor> {
    this.processorLoad ??= this.loadProcessor();
    return this.processorLoad;
  }

  private async loadProcessor(): Promise<GroundingDinoProcessor> {
    const readFile = this.files.readFile?.bind(this.files);
    if (!readFile) {
      throw new VitkitError(
        'TOKENIZER_CONFIG_INVALID',
        `${this.files.source} was loaded without access to its other files, so its tokenizer cannot be read; load it with fromPretrained.`,
      );
    }
    const decoder = new TextDecoder('utf-8', { fatal: true });
    const readText = async (file: string) => {
      const bytes = await readFile(file);
      if (bytes === undefined) return undefined;
      try {
        return decoder.decode(bytes);
      } catch (cause) {
        throw new VitkitError('TOKENIZER_CONFIG_INVALID', `${this.files.source}/${file} is not UTF-8 text.`, { cause });
      }
    };
    // Each file read once: the check below and the processor's loader ask for the same ones (a fetch each, for a URL).
    const texts = new Map<string, Promise<string | undefined>>();
    const read = (file: string) => {
      let text = texts.get(file);
      if (!text) {
        text = readText(file);
        texts.set(file, text);
      }
      return text;
    };
    if ((await read('tokenizer.json')) === undefined && (await read('vocab.txt')) === undefined) {
      throw new VitkitError(
        'TOKENIZER_CONFIG_INVALID',
        `${this.files.source} has neither tokenizer.json nor vocab.txt: Grounding DINO needs its BERT tokenizer's files beside the weights.`,
      );
    }
    return loadGroundingDinoProcessor(read, { preprocessorConfig: this.files.preprocessorConfig });
  }

  /** The prompts as the model's text inputs: `input_ids`, `attention_mask`, `token_type_ids` (int64, padded to the longest). */
  async tokenize(prompts: GroundingPrompts): Promise<TokenizedPrompts> {
    return (await this.groundingProcessor()).tokenize(prompts);
  }

  /** transformers' `post_process_grounded_object_detection` on this model's outputs, labels decoded by its tokenizer. */
  async postProcessGroundedObjectDetection(
    outputs: GroundingDinoDetectionOutputs,
    options: PostProcessGroundedModelOptions,
  ): Promise<GroundedImageDetections[]> {
    return (await this.groundingProcessor()).postProcessGroundedObjectDetection(outputs, options);
  }

  /**
   * Finds what the prompt names in each image: `'a cat. a remote control.'`, or phrases `['a cat', 'a remote
   * control']`. The images run as one padded batch; boxes come back in each image's own pixels.
   */
  async detect(
    images: ImageSource | ImageSource[],
    prompt: GroundingPrompts,
    options: GroundedDetectOptions = {},
  ): Promise<GroundingDinoDetection[][]> {
    const list = Array.isArray(images) ? images : [images];
    if (list.length === 0) return [];
    const perImage = options.perImagePrompts;
    if (perImage && perImage.length !== list.length) {
      throw new VitkitError('INVALID_ARGUMENT', `perImagePrompts has ${perImage.length} prompts for ${list.length} images.`);
    }
    const processor = await this.groundingProcessor();
    const decoded = await Promise.all(list.map((source) => loadImage(source)));
    const prompts = perImage ? perImage.map((p) => promptTexts(p)[0]) : prompt;
    const inputs = processor.processImages(decoded, prompts);
    const outputs = await this.run({ ...inputs });
    const results = processor.postProcessGroundedObjectDetection(
      { logits: outputs.logits, pred_boxes: outputs.pred_boxes },
      {
        inputIds: inputs.input_ids,
        threshold: options.threshold ?? 0.25,
        textThreshold: options.textThreshold ?? 0.25,
        targetSizes: decoded.map((im) => [im.height, im.width] as const),
      },
    );
    return results.map((r) => r.detections.map((d) => ({ label: d.label, score: d.score, box: d.box })));
  }

  protected buildGraph(g: GraphBuilder, inputs: Readonly<Record<string, Value>>, request: GraphRequest): GraphOutputs {
    return buildGroundingDinoGraph(g, inputs, this.spec, this.files.weights, request);
  }
}

/** Every value of an integer index tensor in [0, size): an embedding lookup outside it would fail inside onnxruntime. */
function checkIndices(t: Tensor, name: string, size: number): void {
  if (t.dtype === 'float32' || t.dtype === 'float16' || t.dtype === 'bfloat16' || t.dtype === 'bool') return; // the dtype check reports these
  const data = t.data as ArrayLike<number | bigint>;
  for (let i = 0; i < data.length; i++) {
    const v = Number(data[i]);
    if (!(v >= 0 && v < size)) {
      throw new VitkitError('INPUT_INVALID', `${name} holds ${v} at position ${i}; this checkpoint's ids are 0..${size - 1}.`);
    }
  }
}
