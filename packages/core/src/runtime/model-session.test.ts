import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomArray } from '@vitkit/test-support';
import { afterAll, describe, expect, it } from 'vitest';
import { linear } from '../graph/blocks.js';
import { GraphBuilder } from '../graph/graph-builder.js';
import { encodeModel } from '../graph/graph-parts.js';
import { Tensor } from '../tensor/tensor.js';
import { ModelSession, mountedExternalData } from './model-session.js';
import { nodeRuntime } from './node-runtime.js';

function smallGraph(): Uint8Array {
  const g = new GraphBuilder();
  const x = g.input('x', 'float32', ['batch', 4, 64]);
  // 4 KB of weights: over the size onnxruntime moves to the cache entry's weights file.
  const w = { weight: new Tensor('float32', randomArray(16 * 64, 1), [16, 64]), bias: new Tensor('float32', randomArray(16, 2), [16]) };
  g.output(linear(g, x, w), 'y');
  return g.toModelProto();
}

describe('ModelSession in Node', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vitkit-optimized-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('uses every core Node reports (os.availableParallelism, not navigator) by default', () => {
    expect(nodeRuntime.availableCores()).toBe(availableParallelism());
  });

  it('spinning: false (idle threads sleep) is a setting onnxruntime takes, and the outputs do not change', async () => {
    const model = smallGraph();
    const x = new Tensor('float32', randomArray(2 * 4 * 64, 4), [2, 4, 64]);
    const spinning = await ModelSession.create(model, { device: 'cpu', threads: 2 });
    const sleeping = await ModelSession.create(model, { device: 'cpu', threads: 2, spinning: false });
    try {
      expect(Array.from((await sleeping.run({ x })).y.data as Float32Array)).toEqual(
        Array.from((await spinning.run({ x })).y.data as Float32Array),
      );
    } finally {
      await spinning.dispose();
      await sleeping.dispose();
    }
  });

  it('optimizedModelCache writes the optimized graph once, atomically, and loads it on the next cold start', async () => {
    const model = smallGraph();
    const x = new Tensor('float32', randomArray(2 * 4 * 64, 3), [2, 4, 64]);
    const first = await ModelSession.create(model, { device: 'cpu', optimizedModelCache: dir });
    const a = await first.run({ x });
    await first.dispose();
    const files = readdirSync(dir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^[0-9a-f]{32}$/); // no temporary folder left behind
    expect(readdirSync(join(dir, files[0])).sort()).toEqual(['integrity.json', 'model.data', 'model.onnx']);
    expect(first.fromCache).toBe(false);

    const second = await ModelSession.create(model, { device: 'cpu', optimizedModelCache: dir });
    expect(second.fromCache).toBe(true);
    const b = await second.run({ x });
    await second.dispose();
    expect(readdirSync(dir)).toEqual(files);
    expect(Array.from(b.y.data as Float32Array)).toEqual(Array.from(a.y.data as Float32Array));
  });

  it('with a cacheKey, a cache hit never builds the graph', async () => {
    const keyed = mkdtempSync(join(tmpdir(), 'vitkit-optimized-keyed-'));
    try {
      let builds = 0;
      const build = () => {
        builds++;
        return smallGraph();
      };
      const x = new Tensor('float32', randomArray(4 * 64, 5), [1, 4, 64]);
      const first = await ModelSession.create(build, { device: 'cpu', optimizedModelCache: keyed, cacheKey: 'small-graph' });
      const a = await first.run({ x });
      await first.dispose();
      const second = await ModelSession.create(build, { device: 'cpu', optimizedModelCache: keyed, cacheKey: 'small-graph' });
      const b = await second.run({ x });
      await second.dispose();
      expect(builds).toBe(1);
      expect(Array.from(b.y.data as Float32Array)).toEqual(Array.from(a.y.data as Float32Array));
      await (await ModelSession.create(build, { device: 'cpu', optimizedModelCache: keyed, cacheKey: 'another-graph' })).dispose();
      expect(builds).toBe(2);
      expect(readdirSync(keyed)).toHaveLength(2);
    } finally {
      rmSync(keyed, { recursive: true, force: true });
    }
  });

  it('clears temporary folders left by a writer killed an hour ago or more, and no others', async () => {
    const { mkdirSync, utimesSync, writeFileSync } = await import('node:fs');
    const root = mkdtempSync(join(tmpdir(), 'vitkit-optimized-stale-'));
    try {
      const stale = join(root, 'abc.123.dead.tmp');
      const live = join(root, 'abc.456.live.tmp');
      for (const d of [stale, live]) {
        mkdirSync(d);
        writeFileSync(join(d, 'model.onnx'), 'partial');
      }
      const old = new Date(Date.now() - 2 * 60 * 60 * 1000);
      utimesSync(stale, old, old);
      const s = await ModelSession.create(smallGraph(), { device: 'cpu', optimizedModelCache: root });
      await s.dispose();
      const left = readdirSync(root);
      expect(left).not.toContain('abc.123.dead.tmp');
      expect(left).toContain('abc.456.live.tmp');
      expect(left.filter((n) => /^[0-9a-f]{32}$/.test(n))).toHaveLength(1);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('a flipped byte in a cached weights or graph file is caught, and the entry rebuilt', async () => {
    const { openSync, writeSync, closeSync } = await import('node:fs');
    const model = smallGraph();
    const x = new Tensor('float32', randomArray(4 * 64, 6), [1, 4, 64]);
    const [entry] = readdirSync(dir);
    const reference = await ModelSession.create(model, { device: 'cpu', optimizedModelCache: dir });
    expect(reference.fromCache).toBe(true);
    const expected = Array.from((await reference.run({ x })).y.data as Float32Array);
    await reference.dispose();
    for (const [file, at] of [
      ['model.data', 100],
      ['model.onnx', -1], // the graph's last byte
    ] as const) {
      const path = join(dir, entry, file);
      const bytes = readFileSync(path);
      const position = at < 0 ? bytes.byteLength + at : at;
      const fd = openSync(path, 'r+');
      writeSync(fd, Uint8Array.of(bytes[position] ^ 0xff), 0, 1, position);
      closeSync(fd);
      const s = await ModelSession.create(model, { device: 'cpu', optimizedModelCache: dir });
      const y = Array.from((await s.run({ x })).y.data as Float32Array);
      await s.dispose();
      expect(s.fromCache, file).toBe(false);
      expect(y, file).toEqual(expected);
      expect(readFileSync(path).equals(bytes), `${file} rewritten`).toBe(true);
    }
  });

  it('a damaged or truncated cache entry is rebuilt, never an error', async () => {
    const { writeFileSync, truncateSync } = await import('node:fs');
    const model = smallGraph();
    const [entry] = readdirSync(dir);
    const graphFile = join(dir, entry, 'model.onnx');
    const dataFile = join(dir, entry, 'model.data');
    const good = { graph: readFileSync(graphFile).byteLength, data: readFileSync(dataFile).byteLength };
    const damage = [
      () => writeFileSync(graphFile, 'not an onnx model'),
      () => truncateSync(dataFile, good.data >> 1),
      () => rmSync(dataFile),
    ];
    for (const d of damage) {
      d();
      const s = await ModelSession.create(model, { device: 'cpu', optimizedModelCache: dir });
      expect(s.fromCache).toBe(false);
      const out = await s.run({ x: new Tensor('float32', randomArray(4 * 64, 4), [1, 4, 64]) });
      await s.dispose();
      expect(out.y.shape).toEqual([1, 4, 16]);
      expect(readdirSync(dir)).toEqual([entry]); // replaced by a real entry
      expect(readFileSync(graphFile).byteLength).toBe(good.graph);
      expect(readFileSync(dataFile).byteLength).toBe(good.data);
    }
  });
});

describe('ModelSession on wasm (onnxruntime-web), a graph given as parts', () => {
  function smallParts() {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', ['batch', 4, 64]);
    const w = { weight: new Tensor('float32', randomArray(16 * 64, 1), [16, 64]), bias: new Tensor('float32', randomArray(16, 2), [16]) };
    g.output(linear(g, x, w), 'y');
    return { parts: g.parts(), bytes: g.toModelProto() };
  }

  it('mounts each large weight as its own external data file, a view on its bytes, and keeps small ones inline', () => {
    const { parts } = smallParts();
    const mounted = mountedExternalData(parts);
    const big = parts.initializer.filter((t) => (t.rawData as Uint8Array).byteLength >= 1024);
    expect(big.length).toBeGreaterThan(0);
    expect(mounted.files.map((f) => f.data)).toEqual(big.map((t) => t.rawData));
    mounted.files.forEach((f, i) => expect(f.data).toBe(big[i].rawData)); // never copied
    expect(encodeModel(mounted.parts).byteLength).toBeLessThan(1024); // the 4 KB weight is not in the protobuf
    expect(parts.initializer.every((t) => t.rawData !== undefined)).toBe(true); // the input is not mutated
  });

  it('gives the same outputs as the inline bytes', async () => {
    const { parts, bytes } = smallParts();
    const x = new Tensor('float32', randomArray(2 * 4 * 64, 4), [2, 4, 64]);
    const inline = await ModelSession.create(bytes, { device: 'wasm' });
    const mounted = await ModelSession.create(parts, { device: 'wasm' });
    try {
      expect(Array.from((await mounted.run({ x })).y.data as Float32Array)).toEqual(
        Array.from((await inline.run({ x })).y.data as Float32Array),
      );
    } finally {
      await inline.dispose();
      await mounted.dispose();
    }
  });
});
