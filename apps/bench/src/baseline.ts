import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { BaselineRequest, BaselineResult } from './baseline-child.js';
import { childEntry } from './child-entry.js';

export type BaselineRunner = Exclude<BaselineRequest['runner'], 'vitkit'>;
export const BASELINE_RUNNERS: readonly BaselineRunner[] = ['transformers.js', 'onnxruntime'];

/** Runs one anchor (or vitkit, measured the same way) in a child process (dist/baseline-child.js, or the .ts source under vitest). */
export function runBaseline(req: BaselineRequest, timeoutMs = 600_000): Promise<BaselineResult> {
  if (req.runner !== 'vitkit' && !existsSync(join(req.folder, 'onnx', 'model.onnx'))) {
    return Promise.reject(new Error(`${req.folder} has no onnx/model.onnx (an Optimum-style export is expected).`));
  }
  return childEntry('baseline-child').then(
    (entry) =>
      new Promise((resolve, reject) => {
        const child = fork(entry, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
        let stderr = '';
        child.stderr?.on('data', (d: Buffer) => {
          stderr += d.toString();
        });
        const timer = setTimeout(() => {
          child.kill();
          reject(new Error(`${req.runner} on ${req.folder} took longer than ${timeoutMs / 1000} s`));
        }, timeoutMs);
        child.on('message', (m: { ok: boolean; result?: BaselineResult; error?: string }) => {
          clearTimeout(timer);
          if (m.ok && m.result) resolve(m.result);
          else reject(new Error(`${req.runner} on ${req.folder} failed: ${m.error}`));
        });
        child.on('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`${req.runner} on ${req.folder} exited with ${code}: ${stderr.split('\n').slice(-5).join(' ')}`));
        });
        child.send(req);
      }),
  );
}
