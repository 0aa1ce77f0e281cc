import { type ImageProcessor, type ImageSource, type LoadImageOptions, type PreprocessorConfig, type RgbImage, Tensor } from '@vitkit/core';
import {
  type GroundedImageDetections,
  type GroundingDinoDetectionOutputs,
  type PostProcessGroundedOptions,
  postProcessGroundedObjectDetection,
} from '../postprocess/grounded-detection.js';
import { BertTokenizer, type BertTokenizerConfig } from '../text/bert-tokenizer.js';
import { groundingDinoImageProcessor } from './image-processor.js';
import { type GroundingPrompts, type TokenizedPrompts, type TokenizePromptsOptions, tokenizePrompts } from './prompts.js';

/** Every input of `GroundingDinoForObjectDetection`, as `GroundingDinoProcessor(images, text)` returns them. */
export interface GroundingDinoInputs extends TokenizedPrompts {
  /** float32 `[batch, 3, height, width]`, the batch padded to its largest image. */
  pixel_values: Tensor<'float32'>;
  /** int64 `[batch, height, width]`: 1 on image pixels, 0 on padding. */
  pixel_mask: Tensor<'int64'>;
}

/** The contents of a checkpoint's processor files (those it has). */
export interface GroundingDinoProcessorFiles {
  /** `preprocessor_config.json`, or transformers v5's `processor_config.json`; default: the reference defaults. */
  preprocessorConfig?: PreprocessorConfig;
  /** `vocab.txt` as text. */
  vocab?: string;
  /** `tokenizer.json`, parsed. */
  tokenizerJson?: unknown;
  /** `tokenizer_config.json`, parsed. */
  tokenizerConfig?: BertTokenizerConfig;
}

/**
 * transformers' `GroundingDinoProcessor`: the image processor (DETR's resize, normalize, pad + mask)
 * and the BERT tokenizer, with the post-processing that needs both the outputs and the tokenizer.
 */
export class GroundingDinoProcessor {
  constructor(
    readonly imageProcessor: ImageProcessor,
    readonly tokenizer: BertTokenizer,
  ) {}

  static fromFiles(files: GroundingDinoProcessorFiles): GroundingDinoProcessor {
    return new GroundingDinoProcessor(groundingDinoImageProcessor(files.preprocessorConfig), BertTokenizer.fromFiles(files));
  }

  /** The text inputs of the model for the prompts (see `tokenizePrompts`). */
  tokenize(prompts: GroundingPrompts, options?: TokenizePromptsOptions): TokenizedPrompts {
    return tokenizePrompts(this.tokenizer, prompts, options);
  }

  /** Images (paths, URLs, bytes, pixels) and their prompts (one for all, or one per image) to every model input. */
  async process(
    images: ImageSource | ImageSource[],
    prompts: GroundingPrompts,
    loadOptions?: LoadImageOptions,
  ): Promise<GroundingDinoInputs> {
    return this.withText(await this.imageProcessor.process(images, loadOptions), prompts);
  }

  /** As `process`, for decoded images. */
  processImages(images: RgbImage | RgbImage[], prompts: GroundingPrompts): GroundingDinoInputs {
    return this.withText(this.imageProcessor.processImages(images), prompts);
  }

  private withText(pixels: ReturnType<ImageProcessor['processImages']>, prompts: GroundingPrompts): GroundingDinoInputs {
    const [batch, , height, width] = pixels.pixel_values.shape;
    // A config with do_pad false gives no mask; the model then takes every pixel as real, as here.
    const mask = pixels.pixel_mask ?? new Tensor('int64', new BigInt64Array(batch * height * width).fill(1n), [batch, height, width]);
    return { pixel_values: pixels.pixel_values, pixel_mask: mask, ...this.tokenize(prompts, { batchSize: batch }) };
  }

  /** `post_process_grounded_object_detection` with this processor's tokenizer. */
  postProcessGroundedObjectDetection(
    outputs: GroundingDinoDetectionOutputs,
    options: Omit<PostProcessGroundedOptions, 'tokenizer'>,
  ): GroundedImageDetections[] {
    return postProcessGroundedObjectDetection(outputs, { ...options, tokenizer: this.tokenizer });
  }
}
