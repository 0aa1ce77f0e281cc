import { readFileSync } from 'node:fs';
import { fixturePath, rejectionCodeOf } from '@vitkit/test-support';
import { describe, expect, it } from 'vitest';
import { writeSafetensors } from '../weights/safetensors.js';
import { loadPretrained } from './load-pretrained.js';
import { pretrainedFromBytes } from './pretrained-from-bytes.js';

const DIR = fixturePath('dinov2/default-res');
const read = (f: string) => new Uint8Array(readFileSync(`${DIR}/${f}`));

describe('pretrainedFromBytes', () => {
  it('reads the files a folder holds as loadPretrained reads the folder', async () => {
    const fromFolder = await loadPretrained(DIR);
    const files = pretrainedFromBytes(
      {
        'ckpt/config.json': read('config.json'),
        'ckpt/preprocessor_config.json': read('preprocessor_config.json'),
        'ckpt/model.safetensors': read('model.safetensors'),
      },
      'ckpt',
    );
    expect(files.source).toBe('ckpt');
    expect(files.config).toEqual(fromFolder.config);
    expect(files.preprocessorConfig).toEqual(fromFolder.preprocessorConfig);
    expect([...files.weights.keys()].sort()).toEqual([...fromFolder.weights.keys()].sort());
    const key = [...files.weights.keys()][0];
    expect(files.weights.get(key).data).toEqual(fromFolder.weights.get(key).data);
  });

  it('prefers the shallowest copy of a name, and reads sharded checkpoints', () => {
    const { tensors } = (() => {
      const t = pretrainedFromBytes({ 'config.json': read('config.json'), 'model.safetensors': read('model.safetensors') }).weights;
      return { tensors: new Map([...t.keys()].map((k) => [k, t.get(k)])) };
    })();
    const names = [...tensors.keys()];
    const half = Math.ceil(names.length / 2);
    const shard = (part: string[]) => writeSafetensors(new Map(part.map((n) => [n, tensors.get(n)!])));
    const index = { weight_map: Object.fromEntries(names.map((n, i) => [n, i < half ? 'a.safetensors' : 'b.safetensors'])) };
    const files = pretrainedFromBytes({
      'x/config.json': read('config.json'),
      'x/nested/config.json': new TextEncoder().encode('not json'),
      'x/model.safetensors.index.json': new TextEncoder().encode(JSON.stringify(index)),
      'x/a.safetensors': shard(names.slice(0, half)),
      'x/b.safetensors': shard(names.slice(half)),
    });
    expect([...files.weights.keys()].sort()).toEqual([...names].sort());
  });

  it('names what is missing', async () => {
    const code = (f: () => unknown) => rejectionCodeOf(Promise.resolve().then(f));
    expect(await code(() => pretrainedFromBytes({ 'model.safetensors': read('model.safetensors') }))).toBe('FILE_NOT_FOUND');
    expect(await code(() => pretrainedFromBytes({ 'config.json': read('config.json') }))).toBe('FILE_NOT_FOUND');
    const index = new TextEncoder().encode(JSON.stringify({ weight_map: { w: 'gone.safetensors' } }));
    expect(await code(() => pretrainedFromBytes({ 'config.json': read('config.json'), 'model.safetensors.index.json': index }))).toBe(
      'FILE_NOT_FOUND',
    );
    expect(await code(() => pretrainedFromBytes({ 'config.json': read('config.json'), 'model.safetensors': new Uint8Array(3) }))).toBe(
      'WEIGHTS_TRUNCATED',
    );
  });
});
