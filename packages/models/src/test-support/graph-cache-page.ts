// The page of the compiled-graph cache test: loads a checkpoint by URL, as an app does.
import { type ModelLoadEvent, Tensor } from '@vitkit/core';
import { AutoModel } from '@vitkit/models';

async function loadAndRun(url: string, size: number): Promise<unknown> {
  const events: ModelLoadEvent[] = [];
  const model = await AutoModel.fromPretrained(url, { onLoadProgress: (e) => events.push(e) });
  const { fromCache } = await model.warmup(size, size);
  const pixels = new Tensor(
    'float32',
    Float32Array.from({ length: 3 * size * size }, (_, i) => Math.sin(i)),
    [1, 3, size, size],
  );
  const out = await model.run({ pixel_values: pixels });
  await model.dispose();
  return {
    fromCache,
    events: events.map((e) => `${e.stage}:${e.state}`),
    first: Array.from((out.last_hidden_state.data as Float32Array).slice(0, 16)),
  };
}

/** Flips one byte in the middle of every stored graph, keeping its headers: the entry now lies. */
async function corruptGraphCache(): Promise<number> {
  const cache = await caches.open('vitkit-graphs');
  const keys = await cache.keys();
  for (const key of keys) {
    const hit = (await cache.match(key)) as Response;
    const bytes = new Uint8Array(await hit.arrayBuffer());
    bytes[bytes.length >> 1] ^= 0xff;
    await cache.put(key, new Response(bytes, { headers: hit.headers }));
  }
  return keys.length;
}

Object.assign(globalThis, { loadAndRun, corruptGraphCache, pageReady: true });
