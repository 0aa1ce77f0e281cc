// A Node module hook that runs the CLI from its TypeScript sources in a child process, for tests
// that must see what a user sees (stderr, exit code) without a build: workspace packages resolve to
// their src/ (as tooling/vitest.shared.ts aliases them), `./x.js` to `./x.ts`, and each .ts file is
// transpiled on load (kept in a temp-folder cache keyed by path, size and mtime, so only the first
// child pays for loading TypeScript). Registered by run-source-cli.ts.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CACHE = join(tmpdir(), 'vitkit-source-cli-cache');
let typescript;

const PACKAGES = new URL('../../../', import.meta.url);
const WORKSPACE = {
  '@vitkit/core': 'core/src/index.ts',
  '@vitkit/core/internal': 'core/src/internal.ts',
  '@vitkit/dino': 'dino/src/index.ts',
  '@vitkit/deit': 'deit/src/index.ts',
  '@vitkit/detr': 'detr/src/index.ts',
  '@vitkit/swin': 'swin/src/index.ts',
  '@vitkit/image-sets': 'image-sets/src/index.ts',
  '@vitkit/models': 'models/src/index.ts',
  '@vitkit/cli/bench': 'cli/src/commands/bench.ts',
  '#platform': 'core/src/platform/node.ts',
};

export async function resolve(specifier, context, next) {
  const mapped = WORKSPACE[specifier];
  if (mapped) return { url: new URL(mapped, PACKAGES).href, shortCircuit: true };
  if (/^\.{1,2}\//.test(specifier) && specifier.endsWith('.js') && context.parentURL?.endsWith('.ts')) {
    const candidate = new URL(specifier.replace(/\.js$/, '.ts'), context.parentURL);
    if (existsSync(fileURLToPath(candidate))) return { url: candidate.href, shortCircuit: true };
  }
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return next(url, context);
  const path = fileURLToPath(url);
  const { size, mtimeMs } = statSync(path);
  const cached = join(CACHE, `${createHash('sha1').update(`${path}\0${size}\0${mtimeMs}`).digest('hex')}.js`);
  if (existsSync(cached)) return { format: 'module', source: readFileSync(cached, 'utf8'), shortCircuit: true };
  typescript ??= (await import('typescript')).default;
  const { outputText } = typescript.transpileModule(readFileSync(path, 'utf8'), {
    compilerOptions: {
      module: typescript.ModuleKind.ESNext,
      target: typescript.ScriptTarget.ES2022,
      verbatimModuleSyntax: true,
    },
    fileName: path,
  });
  // Written under a temporary name and renamed, so a parallel child never reads half a file.
  mkdirSync(CACHE, { recursive: true });
  const temporary = `${cached}.${process.pid}.tmp`;
  writeFileSync(temporary, outputText);
  renameSync(temporary, cached);
  return { format: 'module', source: outputText, shortCircuit: true };
}
