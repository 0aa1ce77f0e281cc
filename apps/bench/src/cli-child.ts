// Runs `vitkit bench` (packages/cli) in a child process per model and backend: the JSON contract is
// the interface, and each child's peak RSS is its own model's.
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { BenchRow, BenchSkip, CliReport } from './types.js';

export type CliEvent =
  | { type: 'progress'; label: string; done: number; total: number }
  | { type: 'row'; row: BenchRow }
  | { type: 'skip'; skip: BenchSkip };

export function cliBin(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@vitkit/cli/package.json')), 'dist', 'bin.js');
}

/** Child env (the CLI itself points Dawn at SwiftShader when there is no GPU). */
export function childEnv(): NodeJS.ProcessEnv {
  return { ...process.env };
}

export async function runCli(args: string[], onEvent: (e: CliEvent) => void = () => undefined, env = childEnv()): Promise<CliReport> {
  const dir = mkdtempSync(join(tmpdir(), 'vitkit-bench-'));
  const out = join(dir, 'report.json');
  try {
    const stderr: string[] = [];
    const code = await new Promise<number>((resolve, reject) => {
      const child = fork(cliBin(), ['bench', ...args, '--json', out], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env });
      child.on('message', (m) => onEvent(m as CliEvent));
      child.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
      child.on('error', reject);
      child.on('exit', (c) => resolve(c ?? 1));
    });
    if (code !== 0) {
      const text = stderr
        .join('')
        .split('\n')
        .filter((l) => l && !l.includes('XDG_RUNTIME_DIR'))
        .slice(-5)
        .join(' ');
      throw new Error(`vitkit bench ${args.join(' ')} exited with ${code}: ${text}`);
    }
    return JSON.parse(readFileSync(out, 'utf8')) as CliReport;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
