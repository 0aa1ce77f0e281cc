// The public surface of @vitkit/grounding-dino (issue 16).

export { groundingDinoFamily } from './family.js';
export {
  type GroundedDetectOptions,
  GroundingDino,
  type GroundingDinoDetection,
  type GroundingDinoLoadOptions,
  type PostProcessGroundedModelOptions,
} from './grounding-dino-model.js';
export { GROUNDING_DINO_ARCHITECTURES, type GroundingDinoArchitecture } from './model/spec.js';
export {
  type GroundedDetection,
  type GroundedImageDetections,
  type GroundingDinoDetectionOutputs,
  type PostProcessGroundedOptions,
  postProcessGroundedObjectDetection,
} from './postprocess/grounded-detection.js';
export {
  type GroundingDinoInputs,
  GroundingDinoProcessor,
  type GroundingDinoProcessorFiles,
} from './processor/grounding-dino-processor.js';
export { GROUNDING_DINO_DEFAULT_PROCESSOR, groundingDinoImageProcessor } from './processor/image-processor.js';
export { loadGroundingDinoProcessor, type ReadCheckpointText } from './processor/load-processor.js';
export {
  type GroundingPrompts,
  mergePhrases,
  promptTexts,
  type TokenizedPrompts,
  type TokenizePromptsOptions,
  tokenizePrompts,
} from './processor/prompts.js';
export {
  type AddedTokenSpec,
  BertTokenizer,
  type BertTokenizerConfig,
  cleanUpTokenization,
  type DecodeOptions,
  type EncodeOptions,
  type TokenSpec,
} from './text/bert-tokenizer.js';
