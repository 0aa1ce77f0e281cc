import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { BaselineRequest, BaselineResult } from './baseline-child.js';
import { runChild } from './child-entry.js';

export type BaselineRunner = Exclude<BaselineRequest['runner'], 'vitkit'>;
export const BASELINE_RUNNERS: readonly BaselineRunner[] = ['transformers.js', 'onnxruntime'];

/** Runs one anchor (or vitkit, measured the same way) in a child process (dist/baseline-child.js, or the .ts source under vitest). */
export function runBaseline(req: BaselineRequest, timeoutMs = 600_000): Promise<BaselineResult> {
  if (req.runner !== 'vitkit' && !existsSync(join(req.folder, 'onnx', 'model.onnx'))) {
    return Promise.reject(new Error(`${req.folder} has no onnx/model.onnx (an Optimum-style export is expected).`));
  }
  return runChild<BaselineRequest, BaselineResult>('baseline-child', req, `${req.runner} on ${req.folder}`, timeoutMs);
}
