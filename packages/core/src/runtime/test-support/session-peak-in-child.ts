// Run in a child process by external-data-session.test.ts: creates a cpu session over a graph of
// large weights through the external-data path and reports the process's peak RSS (which a test
// runner's own process would blur), with the RSS before the graph was built.
import { GraphBuilder } from '../../graph/graph-builder.js';
import type { GraphParts } from '../../graph/graph-parts.js';
import { matMul } from '../../graph/ops.js';
import { Tensor } from '../../tensor/tensor.js';
import { ModelSession } from '../model-session.js';

const [layers, width] = process.argv.slice(2).map(Number);

/** x [1, width] through `layers` MatMuls by [width, width] weights, each filled (so its pages are resident). */
function chain(): GraphParts {
  const g = new GraphBuilder();
  let x = g.input('x', 'float32', [1, width]);
  for (let i = 0; i < layers; i++) {
    const w = new Float32Array(width * width).fill(1 / width);
    x = matMul(g, x, g.constant(new Tensor('float32', w, [width, width]), `w${i}`));
  }
  g.output(x, 'y');
  return g.parts();
}

const rssBeforeBytes = process.memoryUsage().rss;
// A thunk, as VisionModel passes it: nothing outside the session holds the parts.
const session = await ModelSession.create(chain, { device: 'cpu', externalDataThreshold: 0 });
const { y } = await session.run({ x: new Tensor('float32', new Float32Array(width).fill(1), [1, width]) });
await session.dispose();
console.log(
  JSON.stringify({
    weightsBytes: layers * width * width * 4,
    rssBeforeBytes,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    y0: (y.data as Float32Array)[0],
  }),
);
