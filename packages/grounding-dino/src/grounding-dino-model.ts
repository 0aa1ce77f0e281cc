import {
  type GraphBuilder,
  type GraphOutputs,
  type GraphRequest,
  type InputSpec,
  type ModelOptions,
  type PreprocessorConfig,
  type PretrainedFiles,
  type PretrainedOptions,
  type Value,
  VisionModel,
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

  protected override defaultProcessorConfig(): PreprocessorConfig {
    return GROUNDING_DINO_DEFAULT_PROCESSOR;
  }

  protected buildGraph(g: GraphBuilder, inputs: Readonly<Record<string, Value>>, request: GraphRequest): GraphOutputs {
    return buildGroundingDinoGraph(g, inputs, this.spec, this.files.weights, request);
  }
}
