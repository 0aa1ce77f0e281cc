import { execFile } from 'node:child_process';
import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { codeOf, rejectionCodeOf } from '@vitkit/test-support';
import { unzipSync } from 'fflate';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { localFolderFiles } from '../hub/local-folder.js';
import { buildForChildProcess } from '../hub/test-support/child-build.js';
import { torchSaveArchive } from '../hub/test-support/pickle-bytes.js';
import { Tensor } from '../tensor/tensor.js';
import { loadWeights } from './load-weights.js';
import { writeSafetensors } from './safetensors.js';
import { writeZipFile } from './test-support/zip-writer.js';

const run = promisify(execFile);

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

describe('loadWeights: checkpoints over 2 GiB, read by range', () => {
  // Sparse files: headers and a few real tensors written, the gigabytes between them left as holes,
  // so the test costs no disk and no time. dinov2-giant is ~4.5 GB in fp32.
  const GiB = 2 ** 30;
  const HOLE = 2_300_000_000; // each hole tensor stays under the 4 GiB one typed array may hold
  const tail = Float32Array.of(1.5, -2, 3.25, 4, -5.5, 6);
  const head = Float32Array.of(7, 8);
  let built: string;

  beforeAll(async () => {
    built = await buildForChildProcess('src/weights/test-support/load-in-child.ts');
  });
  afterAll(() => rmSync(built, { recursive: true, force: true }));

  /** `{ head.bias, huge.a, huge.b, tail.weight }` in that order, the last past 4 GiB. */
  function writeSparseSafetensors(path: string, prefix = ''): number {
    const entries: Record<string, { dtype: string; shape: number[]; data_offsets: number[] }> = {};
    let offset = 0;
    const add = (name: string, dtype: string, shape: number[], bytes: number) => {
      entries[prefix + name] = { dtype, shape, data_offsets: [offset, offset + bytes] };
      offset += bytes;
      return offset - bytes;
    };
    const headAt = add('head.bias', 'F32', [2], 8);
    add('huge.a', 'U8', [HOLE], HOLE);
    add('huge.b', 'U8', [HOLE], HOLE);
    const tailAt = add('tail.weight', 'F32', [2, 3], 24);
    const json = new TextEncoder().encode(JSON.stringify(entries).padEnd(8 * Math.ceil(JSON.stringify(entries).length / 8)));
    const prefixBytes = new Uint8Array(8);
    new DataView(prefixBytes.buffer).setBigUint64(0, BigInt(json.byteLength), true);
    const dataStart = 8 + json.byteLength;
    const fd = openSync(path, 'w');
    try {
      ftruncateSync(fd, dataStart + offset);
      writeSync(fd, prefixBytes, 0, 8, 0);
      writeSync(fd, json, 0, json.byteLength, 8);
      writeSync(fd, new Uint8Array(head.buffer), 0, 8, dataStart + headAt);
      writeSync(fd, new Uint8Array(tail.buffer), 0, 24, dataStart + tailAt);
    } finally {
      closeSync(fd);
    }
    return dataStart + offset;
  }

  async function loadInChild(dir: string, names: string[]) {
    const { stdout } = await run(process.execPath, [join(built, 'src/weights/test-support/load-in-child.js'), dir, ...names]);
    return JSON.parse(stdout) as {
      keys?: string[];
      tensors?: Record<string, number[]>;
      maxRssBytes?: number;
      error?: string;
      message?: string;
    };
  }

  it('loads a 4.4 GB safetensors file, reading only the tensors asked for', async () => {
    const dir = folder({});
    const size = writeSparseSafetensors(join(dir, 'model.safetensors'));
    expect(size).toBeGreaterThan(4 * GiB);
    const result = await loadInChild(dir, ['tail.weight', 'head.bias']);
    expect(result.error, result.message).toBeUndefined();
    expect(result.keys).toEqual(['head.bias', 'huge.a', 'huge.b', 'tail.weight']);
    expect(result.tensors).toEqual({ 'tail.weight': Array.from(tail), 'head.bias': Array.from(head) });
    // Never the file whole: a child Node process with a few tensors stays near its ~50 MB baseline.
    console.info(
      `peak RSS loading a ${(size / GiB).toFixed(1)} GiB safetensors file: ${((result.maxRssBytes ?? 0) / 2 ** 20).toFixed(0)} MiB`,
    );
    expect(result.maxRssBytes).toBeLessThan(200 * 2 ** 20);
  });

  it('loads a sharded safetensors checkpoint whose shards are over 2 GiB', async () => {
    const dir = folder({});
    writeSparseSafetensors(join(dir, 'model-00001-of-00002.safetensors'), 'a.');
    writeSparseSafetensors(join(dir, 'model-00002-of-00002.safetensors'), 'b.');
    const weightMap: Record<string, string> = {};
    for (const name of ['head.bias', 'huge.a', 'huge.b', 'tail.weight']) {
      weightMap[`a.${name}`] = 'model-00001-of-00002.safetensors';
      weightMap[`b.${name}`] = 'model-00002-of-00002.safetensors';
    }
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    const result = await loadInChild(dir, ['a.tail.weight', 'b.tail.weight', 'b.head.bias']);
    expect(result.error, result.message).toBeUndefined();
    expect(result.tensors).toEqual({
      'a.tail.weight': Array.from(tail),
      'b.tail.weight': Array.from(tail),
      'b.head.bias': Array.from(head),
    });
    expect(result.maxRssBytes).toBeLessThan(200 * 2 ** 20);
  });

  it('loads a 4.4 GB torch.save archive (zip64), its stored storages read in place', async () => {
    const dir = folder({});
    const storage = (key: string, bytes: number) => ({
      storageClass: 'ByteStorage',
      storageKey: key,
      storageBytes: new Uint8Array(0),
      storageNumel: bytes,
    });
    const float = (key: string, n: number) => ({ ...storage(key, n), storageClass: 'FloatStorage' });
    const pickle = unzipSync(
      torchSaveArchive({
        'head.bias': { ...float('0', 2), offset: 0, shape: [2], stride: [1] },
        'huge.a': { ...storage('1', HOLE), offset: 0, shape: [HOLE], stride: [1] },
        'huge.b': { ...storage('2', HOLE), offset: 0, shape: [HOLE], stride: [1] },
        // A transposed view: read as a strided window from past 4 GiB, then made contiguous.
        'tail.weight': { ...float('3', 6), offset: 0, shape: [2, 3], stride: [1, 2] },
      }),
    )['archive/data.pkl'];
    const size = writeZipFile(join(dir, 'pytorch_model.bin'), [
      { name: 'archive/data.pkl', data: pickle },
      { name: 'archive/byteorder', data: new TextEncoder().encode('little') },
      { name: 'archive/data/0', data: new Uint8Array(head.buffer) },
      { name: 'archive/data/1', holeBytes: HOLE },
      { name: 'archive/data/2', holeBytes: HOLE },
      { name: 'archive/data/3', data: new Uint8Array(tail.buffer) },
      { name: 'archive/version', data: new TextEncoder().encode('3\n') },
    ]);
    expect(size).toBeGreaterThan(4 * GiB);
    const result = await loadInChild(dir, ['tail.weight', 'head.bias']);
    expect(result.error, result.message).toBeUndefined();
    expect(result.keys).toEqual(['head.bias', 'huge.a', 'huge.b', 'tail.weight']);
    // Storage [1.5, -2, 3.25, 4, -5.5, 6] viewed with strides (1, 2): rows [1.5, 3.25, -5.5] and [-2, 4, 6].
    expect(result.tensors).toEqual({ 'tail.weight': [1.5, 3.25, -5.5, -2, 4, 6], 'head.bias': Array.from(head) });
    console.info(
      `peak RSS loading a ${(size / GiB).toFixed(1)} GiB torch.save archive: ${((result.maxRssBytes ?? 0) / 2 ** 20).toFixed(0)} MiB`,
    );
    expect(result.maxRssBytes).toBeLessThan(200 * 2 ** 20);
  });
});
