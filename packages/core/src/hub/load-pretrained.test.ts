import { readFileSync } from 'node:fs';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isVitkitError } from '../errors/vitkit-error.js';
import { readSafetensors } from '../weights/safetensors.js';
import { loadPretrained } from './load-pretrained.js';

const FIXTURES = new URL('../../../../fixtures/', import.meta.url).pathname;
const DEFAULT_RES = join(FIXTURES, 'dinov2/default-res');

const temps: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'vitkit-local-'));
  temps.push(dir);
  return dir;
}
afterEach(async () => {
  for (const d of temps.splice(0)) await rm(d, { recursive: true, force: true });
});

describe('loadPretrained from a local folder', () => {
  it('reads config, preprocessor config and safetensors weights', async () => {
    const files = await loadPretrained(DEFAULT_RES);
    expect(files.source).toBe(DEFAULT_RES);
    expect(files.dir).toBe(DEFAULT_RES);
    expect(files.config.model_type).toBe('dinov2');
    expect(files.preprocessorConfig?.image_processor_type).toBeDefined();
    const reference = readSafetensors(new Uint8Array(readFileSync(join(DEFAULT_RES, 'model.safetensors')))).tensors;
    expect(files.weights.keys().sort()).toEqual([...reference.keys()].sort());
    const name = 'embeddings.cls_token';
    expect(Array.from(files.weights.get(name).data as Float32Array)).toEqual(Array.from(reference.get(name)!.data as Float32Array));
  });

  it('reads side files of the folder by name, undefined when absent, and refuses names that leave it', async () => {
    const files = await loadPretrained(DEFAULT_RES);
    expect(await files.readFile?.('config.json')).toEqual(new Uint8Array(readFileSync(join(DEFAULT_RES, 'config.json'))));
    expect(await files.readFile?.('vocab.txt')).toBeUndefined();
    for (const bad of ['../x.json', '/etc/passwd', 'a/../../b'])
      await expect(files.readFile?.(bad)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('leaves preprocessorConfig undefined when the folder has none', async () => {
    const dir = await tempDir();
    await copyFile(join(DEFAULT_RES, 'config.json'), join(dir, 'config.json'));
    await copyFile(join(DEFAULT_RES, 'model.safetensors'), join(dir, 'model.safetensors'));
    const files = await loadPretrained(dir);
    expect(files.preprocessorConfig).toBeUndefined();
    expect(files.weights.keys().length).toBeGreaterThan(0);
  });

  it('reads a sharded safetensors checkpoint through its index', async () => {
    const dir = await tempDir();
    await copyFile(join(DEFAULT_RES, 'config.json'), join(dir, 'config.json'));
    const { tensors } = readSafetensors(new Uint8Array(readFileSync(join(DEFAULT_RES, 'model.safetensors'))));
    const { writeSafetensors } = await import('../weights/safetensors.js');
    const names = [...tensors.keys()].sort();
    const half = Math.ceil(names.length / 2);
    const shards = [names.slice(0, half), names.slice(half)];
    const weightMap: Record<string, string> = {};
    for (const [i, shard] of shards.entries()) {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      await writeFile(join(dir, file), writeSafetensors(new Map(shard.map((n) => [n, tensors.get(n)!]))));
      for (const n of shard) weightMap[n] = file;
    }
    await writeFile(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    const files = await loadPretrained(dir);
    expect(files.weights.keys().sort()).toEqual(names);
  });

  it('prefers model.safetensors when a folder also has pytorch_model.bin', async () => {
    const files = await loadPretrained(join(FIXTURES, 'dinov2/pytorch-bin'));
    expect(files.weights.source.endsWith('model.safetensors')).toBe(true);
  });

  it('loads pytorch_model.bin when it is the only weight file', async () => {
    const dir = await tempDir();
    const source = join(FIXTURES, 'dinov2/pytorch-bin');
    await copyFile(join(source, 'config.json'), join(dir, 'config.json'));
    await copyFile(join(source, 'pytorch_model.bin'), join(dir, 'pytorch_model.bin'));
    const files = await loadPretrained(dir);
    expect(files.weights.source.endsWith('pytorch_model.bin')).toBe(true);
    const reference = readSafetensors(new Uint8Array(readFileSync(join(source, 'model.safetensors')))).tensors;
    expect(files.weights.keys().sort()).toEqual([...reference.keys()].sort());
  });

  it('names the folder and the missing config.json', async () => {
    const dir = await tempDir();
    await copyFile(join(DEFAULT_RES, 'model.safetensors'), join(dir, 'model.safetensors'));
    const error = await loadPretrained(dir).catch((e) => e);
    expect(isVitkitError(error, 'FILE_NOT_FOUND')).toBe(true);
    expect(error.message).toContain('config.json');
    expect(error.message).toContain(dir);
  });

  it('says which weight files it looked for when there are none', async () => {
    const dir = await tempDir();
    await copyFile(join(DEFAULT_RES, 'config.json'), join(dir, 'config.json'));
    const error = await loadPretrained(dir).catch((e) => e);
    expect(isVitkitError(error, 'FILE_NOT_FOUND')).toBe(true);
    expect(error.message).toContain('model.safetensors');
    expect(error.message).toContain('pytorch_model.bin');
  });
});
