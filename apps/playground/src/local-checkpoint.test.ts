import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isVitkitError } from '@vitkit/core';
import { describe, expect, it } from 'vitest';
import { checkpointFromFiles } from './local-checkpoint.js';

const FIXTURE = fileURLToPath(new URL('../../../fixtures/dinov2/classification/', import.meta.url));
const file = (name: string, as = name) => new File([readFileSync(`${FIXTURE}${name}`)], as);

async function failure(files: File[]): Promise<{ code: string; message: string }> {
  try {
    await checkpointFromFiles(files, 'picked');
  } catch (error) {
    if (isVitkitError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a VitkitError');
}

describe('checkpointFromFiles', () => {
  it('reads config, processor config and weights from picked files, whatever folder prefixes their names', async () => {
    const files = await checkpointFromFiles(
      [file('config.json', 'ckpt/config.json'), file('preprocessor_config.json'), file('model.safetensors', 'ckpt/model.safetensors')],
      'ckpt',
    );
    expect(files.config.architectures).toEqual(['Dinov2ForImageClassification']);
    expect(files.preprocessorConfig?.image_processor_type).toBe('BitImageProcessor');
    expect(files.weights.keys().length).toBeGreaterThan(10);
    expect(files.weights.has('classifier.weight')).toBe(true);
    expect(await files.readFile?.('preprocessor_config.json')).toEqual(new Uint8Array(readFileSync(`${FIXTURE}preprocessor_config.json`)));
    expect(await files.readFile?.('vocab.txt')).toBeUndefined();
  });

  it('says what is missing: config.json, or any safetensors weights (naming .bin when that is what it found)', async () => {
    expect(await failure([file('model.safetensors')])).toMatchObject({
      code: 'FILE_NOT_FOUND',
      message: expect.stringContaining('no config.json'),
    });
    expect(await failure([file('config.json')])).toMatchObject({
      code: 'FILE_NOT_FOUND',
      message: expect.stringContaining('no *.safetensors'),
    });
    const bin = new File([new Uint8Array(8)], 'pytorch_model.bin');
    expect(await failure([file('config.json'), bin])).toMatchObject({
      code: 'FILE_NOT_FOUND',
      message: expect.stringContaining('.bin weights'),
    });
  });

  it('refuses a config.json that is not a JSON object', async () => {
    const bad = new File(['[1, 2]'], 'config.json');
    expect(await failure([bad, file('model.safetensors')])).toMatchObject({ code: 'CONFIG_INVALID' });
    const broken = new File(['{'], 'config.json');
    expect(await failure([broken, file('model.safetensors')])).toMatchObject({ code: 'CONFIG_INVALID' });
  });
});
