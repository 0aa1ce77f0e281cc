import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codeOf, rejectionCodeOf } from '@vitkit/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { localFolderFiles } from '../hub/local-folder.js';
import { Tensor } from '../tensor/tensor.js';
import { loadWeights } from './load-weights.js';
import { writeSafetensors } from './safetensors.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function folder(files: Record<string, Uint8Array | string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'vitkit-load-weights-'));
  dirs.push(dir);
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
  return dir;
}

const weights = () => ({
  'a.weight': new Tensor('float32', Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3]),
  'a.bias': new Tensor('float32', Float32Array.of(-1, -2), [2]),
});

describe('loadWeights (safetensors)', () => {
  it('knows names and shapes from the header and reads the data on first use', async () => {
    const dir = folder({ 'model.safetensors': writeSafetensors(weights()) });
    const store = await loadWeights(localFolderFiles(dir));
    expect(store.keys().sort()).toEqual(['a.bias', 'a.weight']);
    expect(store.shapeOf('a.weight')).toEqual([2, 3]);
    // Rewritten (same size) after loading: the data read is the file as it is at first use.
    const changed = weights();
    (changed['a.weight'].data as Float32Array)[0] = 42;
    writeFileSync(join(dir, 'model.safetensors'), writeSafetensors(changed));
    expect([...(store.get('a.weight').data as Float32Array)]).toEqual([42, 2, 3, 4, 5, 6]);
    expect([...(store.scoped('a.').get('bias').data as Float32Array)]).toEqual([-1, -2]);
  });

  it('checks shapes before reading data', async () => {
    const store = await loadWeights(localFolderFiles(folder({ 'model.safetensors': writeSafetensors(weights()) })));
    expect(codeOf(() => store.get('a.weight', [3, 2]))).toBe('WEIGHTS_SHAPE_MISMATCH');
    expect(codeOf(() => store.shapeOf('b.weight'))).toBe('WEIGHTS_MISSING_TENSOR');
  });

  it('refuses a truncated file when loading, before any data is read', async () => {
    const bytes = writeSafetensors(weights());
    const dir = folder({ 'model.safetensors': bytes.subarray(0, bytes.byteLength - 4) });
    expect(await rejectionCodeOf(loadWeights(localFolderFiles(dir)))).toBe('WEIGHTS_TRUNCATED');
    writeFileSync(join(dir, 'model.safetensors'), bytes.subarray(0, 5));
    expect(await rejectionCodeOf(loadWeights(localFolderFiles(dir)))).toBe('WEIGHTS_TRUNCATED');
  });

  it('reports a file cut short after loading as WEIGHTS_TRUNCATED on first use', async () => {
    const dir = folder({ 'model.safetensors': writeSafetensors(weights()) });
    const store = await loadWeights(localFolderFiles(dir));
    truncateSync(join(dir, 'model.safetensors'), 20);
    expect(codeOf(() => store.get('a.bias'))).toBe('WEIGHTS_TRUNCATED');
  });

  it('reads sharded checkpoints through their index, each shard on first use', async () => {
    const w = weights();
    const dir = folder({
      'model-00001-of-00002.safetensors': writeSafetensors({ 'a.weight': w['a.weight'] }),
      'model-00002-of-00002.safetensors': writeSafetensors({ 'a.bias': w['a.bias'] }),
      'model.safetensors.index.json': JSON.stringify({
        weight_map: { 'a.weight': 'model-00001-of-00002.safetensors', 'a.bias': 'model-00002-of-00002.safetensors' },
      }),
    });
    const store = await loadWeights(localFolderFiles(dir));
    expect([...(store.get('a.bias').data as Float32Array)]).toEqual([-1, -2]);
    expect(store.get('a.weight').shape).toEqual([2, 3]);
  });
});
