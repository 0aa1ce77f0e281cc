import { mkdir, mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const CORE_ROOT = new URL('../../../', import.meta.url).pathname;

/**
 * Transpiles a source module and everything it imports relatively into plain ESM in a temp folder,
 * so a test can run the real code in separate Node processes (Node 20 cannot run .ts itself).
 * The folder gets a `node_modules` link to core's, so `fflate` and `proper-lockfile` resolve.
 * Returns the folder; `<folder>/src/<path>.js` mirrors `src/<path>.ts`.
 */
export async function buildForChildProcess(entry: string): Promise<string> {
  const out = await mkdtemp(join(tmpdir(), 'vitkit-child-'));
  await symlink(join(CORE_ROOT, 'node_modules'), join(out, 'node_modules'), 'dir');
  // Core's own '#platform' import resolves through package.json "imports", as in the published package.
  await writeFile(join(out, 'package.json'), JSON.stringify({ type: 'module', imports: { '#platform': './src/platform/node.js' } }));
  const pending = [resolve(CORE_ROOT, entry)];
  const done = new Set<string>();
  while (pending.length > 0) {
    const source = pending.pop() as string;
    if (done.has(source)) continue;
    done.add(source);
    const text = await readFile(source, 'utf8');
    const { outputText } = ts.transpileModule(text, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
      fileName: source,
    });
    const target = join(out, relative(CORE_ROOT, source)).replace(/\.ts$/, '.js');
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, outputText);
    // Only runtime imports matter; `import type` lines vanish in the output, so scan that.
    for (const match of outputText.matchAll(/from\s+'(\.{1,2}\/[^']+)\.js'/g)) {
      pending.push(resolve(dirname(source), `${match[1]}.ts`));
    }
    if (/from\s+'#platform'/.test(outputText)) pending.push(resolve(CORE_ROOT, 'src/platform/node.ts'));
  }
  return out;
}
