import { type PreprocessorConfig, VitkitError } from '@vitkit/core';
import type { BertTokenizerConfig } from '../text/bert-tokenizer.js';
import { GroundingDinoProcessor } from './grounding-dino-processor.js';
import { GROUNDING_DINO_DEFAULT_PROCESSOR } from './image-processor.js';

/** Reads one file of the checkpoint as text, or resolves `undefined` when the checkpoint has no such file. */
export type ReadCheckpointText = (file: string) => Promise<string | undefined>;

function parseObject(text: string, file: string, code: 'TOKENIZER_CONFIG_INVALID' | 'PROCESSOR_CONFIG_INVALID'): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new VitkitError(code, `${file} is not valid JSON.`, { cause });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new VitkitError(code, `${file} must hold a JSON object.`);
  return value as Record<string, unknown>;
}

/**
 * The processor of a checkpoint from its files, whatever reads them (a folder, a URL, the Hub cache):
 * the image processor from `preprocessor_config.json` (or the given config), else transformers v5's
 * `processor_config.json`, else the reference defaults; the tokenizer from `tokenizer.json` or
 * `vocab.txt`, with `tokenizer_config.json` when there is one.
 */
export async function loadGroundingDinoProcessor(
  read: ReadCheckpointText,
  options: { preprocessorConfig?: PreprocessorConfig } = {},
): Promise<GroundingDinoProcessor> {
  const json = async (file: string, code: 'TOKENIZER_CONFIG_INVALID' | 'PROCESSOR_CONFIG_INVALID') => {
    const text = await read(file);
    return text === undefined ? undefined : parseObject(text, file, code);
  };
  const preprocessorConfig =
    options.preprocessorConfig ??
    (await json('preprocessor_config.json', 'PROCESSOR_CONFIG_INVALID')) ??
    (await json('processor_config.json', 'PROCESSOR_CONFIG_INVALID')) ??
    GROUNDING_DINO_DEFAULT_PROCESSOR;
  const tokenizerJson = await json('tokenizer.json', 'TOKENIZER_CONFIG_INVALID');
  const vocab = tokenizerJson === undefined ? await read('vocab.txt') : undefined;
  const tokenizerConfig = (await json('tokenizer_config.json', 'TOKENIZER_CONFIG_INVALID')) as BertTokenizerConfig | undefined;
  return GroundingDinoProcessor.fromFiles({
    preprocessorConfig: preprocessorConfig as PreprocessorConfig,
    tokenizerJson,
    vocab,
    tokenizerConfig,
  });
}
