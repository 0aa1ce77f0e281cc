import {
  type ForwardOptions,
  type GraphBuilder,
  type GraphOutputs,
  type GraphRequest,
  type InputSpec,
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
import { buildGroundingDinoGraph } from './model/graph.js';
import { type GroundingDinoSpec, readGroundingDinoSpec } from './model/spec.js';
import { GROUNDING_DINO_DEFAULT_PROCESSOR } from './processor/image-processor.js';

export type GroundingDinoLoadOptions = ModelOptions & PretrainedOptions;

/**
 * A GroundingDinoForObjectDetection checkpoint as one graph per image size: it takes the image
 * (`pixel_values`, `pixel_mask`) and the tokenised prompt (`input_ids`, `attention_mask`,
 * `token_type_ids`, int64 as the processor returns them) and returns Hugging Face's outputs
 * (`logits` [B, num_queries, max_text_len], `pred_boxes`, …). The batch and the prompt length stay
 * dynamic; the phrase mask and position ids are computed from `input_ids` in the graph.
 */
export class GroundingDinoModel extends VisionModel {
  readonly spec: GroundingDinoSpec;

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
