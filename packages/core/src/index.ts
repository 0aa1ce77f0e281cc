// Public surface of @vitkit/core. Family packages and advanced users import from here;
// building blocks that only families need live in '@vitkit/core/internal'.
export { VitkitError, isVitkitError, type VitkitErrorCode } from './errors/vitkit-error.js';
export { Tensor, type Shape } from './tensor/tensor.js';
export type { DType } from './tensor/dtype.js';
export { readSafetensors, writeSafetensors, type SafetensorsFile } from './weights/safetensors.js';
export { loadPretrained, type PretrainedOptions, type PretrainedFiles } from './hub/load-pretrained.js';
export { downloadPretrained, type DownloadedCheckpoint } from './hub/load-pretrained.js';
export { ModelSession, type SessionOptions } from './runtime/model-session.js';
export { type Device, DEVICES } from './runtime/device.js';
export { ConfigReader, type RawConfig } from './config/model-config.js';
export { VisionModel, type ModelOptions, type ForwardOptions, type ModelInputs, type ModelDtype } from './model/vision-model.js';
export { RgbImage } from './image/rgb-image.js';
export { loadImage } from './image/load-image.js';
export { DEFAULT_MAX_IMAGE_PIXELS, type ImageSource, type LoadImageOptions, type PixelData } from './image/image-source.js';
export { Resample, resizeRgb } from './preprocess/resample-pillow.js';
export {
  BitImageProcessor,
  createImageProcessor,
  DeiTImageProcessor,
  DetrImageProcessor,
  ImageProcessor,
  type PreprocessorConfig,
  type ProcessorOutput,
  ViTImageProcessor,
} from './preprocess/image-processor.js';
export type { ModelFamily } from './model/model-family.js';
