import type { RawConfig } from '../config/model-config.js';
import { VitkitError } from '../errors/vitkit-error.js';
import type { PretrainedFiles } from '../hub/load-pretrained-types.js';
import type { PreprocessorConfig } from '../preprocess/image-processor.js';
import type { StateDictSpec } from './state-dict.js';
import type { ModelOptions, VisionModel } from './vision-model.js';

/**
 * Everything generic tools need to know of a family: the CLI, `AutoModel`, the bench (which
 * synthesizes real-size weights from `stateDictSpec`) and the contract test all read it, and
 * nothing else lists the families. A family package exports one; `@vitkit/models` registers it.
 */
export interface ModelFamily {
  /** Short name, e.g. 'dino' (the package is `@vitkit/<name>`). */
  readonly name: string;
  /** npm package name, e.g. '@vitkit/dino'. */
  readonly packageName: string;
  /** Hugging Face classes it builds, as `config.json` → `architectures[0]` names them. */
  readonly architectures: readonly string[];
  /** `config.json` → `model_type` values it builds, with the class a checkpoint without `architectures` is. */
  readonly modelTypes: Readonly<Record<string, string>>;
  create(files: PretrainedFiles, options?: ModelOptions): VisionModel;
  /** [height, width] the checkpoint's processor produces (benchmarks, warm-up). */
  defaultInputSize(config: RawConfig, preprocessor?: RawConfig): [number, number];
  /** The processor of a checkpoint that ships no `preprocessor_config.json` (its HF class with defaults). */
  defaultProcessor(config: RawConfig): PreprocessorConfig;
  /** Names and shapes of the state dict `config.json` implies, as Hugging Face writes it. */
  stateDictSpec(config: RawConfig): StateDictSpec;
}

/** The Hugging Face class a config.json names: `architectures[0]`, else the class its `model_type` means. */
export function architectureOf(config: RawConfig, families: readonly ModelFamily[]): string | undefined {
  const architectures = config.architectures;
  if (Array.isArray(architectures) && typeof architectures[0] === 'string') return architectures[0];
  const modelType = config.model_type;
  if (typeof modelType !== 'string') return undefined;
  for (const f of families) if (Object.hasOwn(f.modelTypes, modelType)) return f.modelTypes[modelType];
  return undefined;
}

/** The family that builds a checkpoint, or a MODEL_TYPE_UNSUPPORTED error listing what is known. */
export function familyFor(config: RawConfig, families: readonly ModelFamily[]): ModelFamily {
  const architecture = architectureOf(config, families);
  const family = architecture === undefined ? undefined : families.find((f) => f.architectures.includes(architecture));
  if (!family) {
    const what = architecture ?? `model_type "${String(config.model_type ?? '(none)')}"`;
    throw new VitkitError(
      'MODEL_TYPE_UNSUPPORTED',
      `No vitkit family builds ${what}. Known: ${families.flatMap((f) => f.architectures).join(', ')}.`,
    );
  }
  return family;
}

/** [height, width] from a processor's `crop_size`, else its `size` (either an int or {height, width}), else `image_size`. */
export function processorInputSize(config: RawConfig, preprocessor: RawConfig | undefined): [number, number] {
  const fromSize = (v: unknown): [number, number] | undefined => {
    if (typeof v === 'number') return [v, v];
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.height === 'number' && typeof o.width === 'number') return [o.height, o.width];
    }
    return undefined;
  };
  const found = fromSize(preprocessor?.crop_size) ?? fromSize(preprocessor?.size);
  if (found) return found;
  const size = config.image_size;
  if (typeof size === 'number') return [size, size];
  if (Array.isArray(size) && size.length === 2) return [Number(size[0]), Number(size[1])];
  return [224, 224];
}
