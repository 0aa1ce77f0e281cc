import { createImageProcessor, type ImageProcessor, type PreprocessorConfig } from '@vitkit/core';

/** HF's GroundingDinoImageProcessor with its constructor defaults (800 / 1333), for checkpoints without a processor config. */
export const GROUNDING_DINO_DEFAULT_PROCESSOR: PreprocessorConfig = { image_processor_type: 'GroundingDinoImageProcessor' };

/**
 * The image processor of a checkpoint: `preprocessor_config.json`, or the `processor_config.json`
 * transformers v5 writes (the image processor under "image_processor"); DETR's pipeline (resize with
 * shortest/longest edge, rescale, normalize, pad the batch bottom/right with a pixel mask).
 */
export function groundingDinoImageProcessor(config: PreprocessorConfig = GROUNDING_DINO_DEFAULT_PROCESSOR): ImageProcessor {
  return createImageProcessor(config);
}
