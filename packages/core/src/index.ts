// Public surface of @vitkit/core. Family packages and advanced users import from here;
// building blocks that only families need live in '@vitkit/core/internal'.

export { ConfigReader, type RawConfig } from './config/model-config.js';
export { isVitkitError, VitkitError, type VitkitErrorCode } from './errors/vitkit-error.js';
export { downloadPretrained, loadPretrained } from './hub/load-pretrained-platform.js';
export type { DownloadedCheckpoint, PretrainedFiles, PretrainedOptions } from './hub/load-pretrained-types.js';
export { pretrainedFromBytes } from './hub/pretrained-from-bytes.js';
export { checkSideFileSize, MAX_SIDE_FILE_BYTES } from './hub/side-files.js';
export { DEFAULT_MAX_IMAGE_PIXELS, type ImageSource, type LoadImageOptions, type PixelData } from './image/image-source.js';
export { loadImage } from './image/load-image.js';
export { RgbImage } from './image/rgb-image.js';
export { type Classification, type ClassifyOptions, topClasses } from './model/classification.js';
export { architectureOf, familyFor, type ModelFamily } from './model/model-family.js';
export { type StateDictSpec, synthesizeWeights, type TensorSpec, type WeightInit } from './model/state-dict.js';
export {
  type ForwardOptions,
  type InputSpec,
  type ModelDtype,
  type ModelInputs,
  type ModelLoadEvent,
  type ModelOptions,
  VisionModel,
} from './model/vision-model.js';
export {
  BitImageProcessor,
  createImageProcessor,
  DeiTImageProcessor,
  DetrImageProcessor,
  DINOv3ViTImageProcessorFast,
  GroundingDinoImageProcessor,
  ImageProcessor,
  type PreprocessorConfig,
  type ProcessorOutput,
  ViTImageProcessor,
} from './preprocess/image-processor.js';
export { Resample, resizeRgb } from './preprocess/resample-pillow.js';
export { DEVICES, type Device } from './runtime/device.js';
export { ModelSession, type ModelSource, prepareRuntime, type SessionOptions } from './runtime/model-session.js';
export type { DType } from './tensor/dtype.js';
export { type Shape, Tensor } from './tensor/tensor.js';
export { readSafetensors, type SafetensorsFile, safetensorsHeader, type TensorToWrite, writeSafetensors } from './weights/safetensors.js';
