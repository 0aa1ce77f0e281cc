// `pnpm test:consumers`: builds once, then runs each consumer test as its own process with a time
// limit, and prints a summary. `pnpm test:consumers node vite` runs a subset.
import { fileURLToPath } from 'node:url';
import { buildAll, log, run } from './lib.mjs';

const TESTS = [
  { name: 'node', file: 'node-consumer.mjs', limitMs: 8 * 60_000 },
  { name: 'vite', file: 'vite-consumer.mjs', limitMs: 8 * 60_000 },
  { name: 'registry', file: 'registry-consumer.mjs', limitMs: 12 * 60_000 },
];

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = wanted.filter((w) => !TESTS.some((t) => t.name === w));
if (unknown.length) {
  console.error(`unknown consumer test(s): ${unknown.join(', ')}; known: ${TESTS.map((t) => t.name).join(', ')}`);
  process.exit(2);
}
const selected = TESTS.filter((t) => wanted.length === 0 || wanted.includes(t.name));

await buildAll();
const results = [];
for (const t of selected) {
  const started = Date.now();
  let ok = true;
  try {
    await run(process.execPath, [fileURLToPath(new URL(t.file, import.meta.url)), '--no-build'], { timeoutMs: t.limitMs });
  } catch (e) {
    ok = false;
    console.error(e.message);
  }
  results.push({ name: t.name, ok, seconds: (Date.now() - started) / 1000 });
}
log('consumer tests:');
for (const r of results) log(`  ${r.ok ? 'PASS' : 'FAIL'}  ${r.name.padEnd(9)} ${r.seconds.toFixed(1)}s`);
process.exitCode = results.every((r) => r.ok) ? 0 : 1;
