/**
 * Every failure a user can cause surfaces as a VitkitError with a stable `code`, so callers can
 * branch on the code instead of parsing messages.
 */
export type VitkitErrorCode =
  // weights
  | 'WEIGHTS_TRUNCATED'
  | 'WEIGHTS_HEADER_INVALID'
  | 'WEIGHTS_HEADER_TOO_LARGE'
  | 'WEIGHTS_OFFSETS_INVALID'
  | 'WEIGHTS_DTYPE_UNSUPPORTED'
  | 'WEIGHTS_MISSING_TENSOR'
  | 'WEIGHTS_SHAPE_MISMATCH'
  | 'WEIGHTS_TOO_LARGE'
  | 'PICKLE_FORBIDDEN_GLOBAL'
  | 'PICKLE_INVALID'
  | 'ZIP_INVALID'
  // config
  | 'CONFIG_INVALID'
  | 'CONFIG_MISSING_KEY'
  | 'MODEL_TYPE_UNSUPPORTED'
  // tensors and graphs
  | 'TENSOR_SHAPE_MISMATCH'
  | 'TENSOR_DTYPE_UNSUPPORTED'
  | 'GRAPH_SHAPE_MISMATCH'
  | 'GRAPH_INVALID'
  | 'INPUT_SHAPE_INVALID'
  | 'INPUT_MISSING'
  | 'INPUT_INVALID'
  // runtime
  | 'BACKEND_UNAVAILABLE'
  | 'BACKEND_PACKAGE_MISSING'
  | 'SESSION_FAILED'
  | 'RUN_FAILED'
  // workers
  | 'WORKER_FAILED'
  // images and preprocessing
  | 'IMAGE_UNDECODABLE'
  | 'IMAGE_EMPTY'
  | 'IMAGE_ZERO_SIZE'
  | 'IMAGE_TOO_LARGE'
  | 'IMAGE_SOURCE_INVALID'
  | 'IMAGE_FETCH_TIMEOUT'
  | 'PROCESSOR_UNSUPPORTED'
  | 'PROCESSOR_CONFIG_INVALID'
  // text (tokenizers)
  | 'TOKENIZER_UNSUPPORTED'
  | 'TOKENIZER_CONFIG_INVALID'
  // evaluation
  | 'COCO_JSON_INVALID'
  // image sets and vector indexes
  | 'INDEX_INVALID'
  | 'INDEX_MODEL_MISMATCH'
  | 'QUEUE_UNREACHABLE'
  // hub and files
  | 'HUB_NOT_FOUND'
  | 'HUB_UNAUTHORIZED'
  | 'HUB_HTTP_ERROR'
  | 'HUB_OFFLINE_MISS'
  | 'HUB_CHECKSUM_MISMATCH'
  | 'HUB_DOWNLOAD_INTERRUPTED'
  | 'HUB_TIMEOUT'
  | 'FILE_NOT_FOUND'
  | 'INVALID_ARGUMENT';

export class VitkitError extends Error {
  override readonly name = 'VitkitError';
  readonly code: VitkitErrorCode;

  constructor(code: VitkitErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export function isVitkitError(value: unknown, code?: VitkitErrorCode): value is VitkitError {
  return value instanceof VitkitError && (code === undefined || value.code === code);
}
