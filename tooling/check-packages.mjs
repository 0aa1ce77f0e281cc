// `pnpm check:packages`: builds, packs every publishable package (as `pnpm publish` would) and runs
// publint (--strict) and @arethetypeswrong/cli on each tarball, plus vitkit's own shape rules.
//
// attw runs with `--profile esm-only`: the packages are ESM-only on purpose ("type": "module",
// exports without a "require" condition), so the node10 and node16-from-CJS resolutions, which
// can only report "CJS consumers need a dynamic import", are not problems for us.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildAll, log, packAll, ROOT, run, workspacePackages } from './consumer-tests/lib.mjs';

const bin = (name) => join(ROOT, 'node_modules/.bin', name);

/** Shape rules publint does not cover: the ones CONTRIBUTING.md promises for every package. */
function shapeProblems(json) {
  const problems = [];
  if (json.type !== 'module') problems.push('"type" must be "module" (ESM only)');
  if (json.sideEffects !== false) problems.push('"sideEffects" must be false');
  if (json.license !== 'Apache-2.0') problems.push('"license" must be "Apache-2.0"');
  if (json.publishConfig?.access !== 'public') problems.push('"publishConfig.access" must be "public"');
  if (!Array.isArray(json.files)) problems.push('"files" list missing');
  for (const f of ['README.md', 'LICENSE']) if (!json.files?.includes(f)) problems.push(`"files" must list ${f}`);
  if (!json.exports || typeof json.exports !== 'object') problems.push('"exports" map missing');
  for (const [key, value] of Object.entries(json.exports ?? {})) {
    if (typeof value === 'object' && value !== null && Object.keys(value)[0] !== 'types') {
      problems.push(`exports["${key}"]: "types" must come first`);
    }
  }
  for (const [dep, range] of Object.entries(json.dependencies ?? {})) {
    if (dep.startsWith('@vitkit/') && !String(range).startsWith('workspace:')) problems.push(`${dep} must be a workspace: dependency`);
  }
  return problems;
}

const started = Date.now();
if (!process.argv.includes('--no-build')) await buildAll();
const dest = mkdtempSync(join(tmpdir(), 'vitkit-check-packages-'));
const failures = [];
try {
  const tarballs = await packAll(dest);
  for (const pkg of workspacePackages()) {
    const tarball = tarballs[pkg.name];
    for (const p of shapeProblems(pkg.json)) failures.push(`${pkg.name}: ${p}`);
    for (const [tool, args] of [
      ['publint', ['run', tarball, '--strict']],
      ['attw', [tarball, '--profile', 'esm-only', '--format', 'table-flipped']],
    ]) {
      log(`${tool} ${pkg.name}`);
      try {
        await run(bin(tool), args, { timeoutMs: 120_000, capture: true, quiet: true });
      } catch (e) {
        process.stdout.write(e.output ?? '');
        failures.push(`${pkg.name}: ${tool} failed`);
      }
    }
  }
} finally {
  rmSync(dest, { recursive: true, force: true });
}
if (failures.length) {
  console.error(`\ncheck:packages found problems:\n  ${failures.join('\n  ')}`);
  process.exit(1);
}
log(
  `check:packages: ${workspacePackages().length} packages clean (publint --strict, attw --profile esm-only) in ${((Date.now() - started) / 1000).toFixed(1)}s`,
);
