// The Node consumer: `node main.mjs <fixture dir>` in a fresh npm project. Prints `RESULT {json}`.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkDino } from './check-dino.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const fixture = process.argv[2];
// Everything vitkit must come from this project's node_modules, never from a workspace.
const resolved = Object.fromEntries(
  ['@vitkit/core', '@vitkit/dino', 'onnxruntime-node'].map((m) => [m, fileURLToPath(import.meta.resolve(m))]),
);
const outside = Object.entries(resolved).filter(([, p]) => !p.startsWith(join(here, 'node_modules')));
if (outside.length) throw new Error(`resolved outside the project: ${JSON.stringify(outside)}`);
const result = await checkDino({
  source: fixture,
  device: 'cpu',
  readBytes: async (f) => new Uint8Array(await readFile(join(fixture, f))),
});
console.log(`RESULT ${JSON.stringify({ ...result, resolved })}`);
process.exit(result.ok ? 0 : 1);
