// The CLI as a user meets it: a child process running src/bin.ts (from the sources, see
// test-support/source-loader.mjs), its stderr and its exit code.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VitkitError } from '@vitkit/core';
import { afterAll, describe, expect, it } from 'vitest';
import { errorReport } from './error-report.js';
import { type CliRun, runSourceCli } from './test-support/run-source-cli.js';

const CONFIG = fileURLToPath(new URL('../../../fixtures/dinov2/default-res/preprocessor_config.json', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'vitkit-bin-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const STACK_LINE = /^\s+at /m;

describe('vitkit errors', () => {
  it('every failure a command meets is one line `vitkit: <message> [CODE]` and exit 2; --verbose adds the stack', async () => {
    const hugeCrop = join(dir, 'huge-crop.json');
    writeFileSync(hugeCrop, JSON.stringify({ image_processor_type: 'BitImageProcessor', crop_size: 1_000_000 }));
    const out = join(dir, 'out.safetensors');
    const env = { ...process.env, HF_HUB_CACHE: dir, HF_HUB_OFFLINE: '1' };
    // One after another: the first child transpiles the sources, the others reuse its output.
    const dataUrl = await runSourceCli(['preprocess', 'data:image/png;base64,@@@@', '--config', CONFIG, '--out', out], env);
    const verbose = await runSourceCli(['preprocess', 'data:image/png;base64,@@@@', '--config', CONFIG, '--out', out, '--verbose'], env);
    const crop = await runSourceCli(['preprocess', 'file://host/x.png', '--config', hugeCrop, '--out', out], env);
    const revision = await runSourceCli(['download', 'org/model', '--revision', '../../../escape'], env);
    // The error is the last line (a progress bar may have drawn above it), and no stack trace.
    const expectOneLine = (run: CliRun, code: string) => {
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toMatch(new RegExp(`(^|\\n)vitkit: [^\\n]+ \\[${code}\\]\\n$`));
      expect(run.stderr).not.toMatch(STACK_LINE);
    };
    expectOneLine(dataUrl, 'IMAGE_SOURCE_INVALID');
    expectOneLine(crop, 'PROCESSOR_CONFIG_INVALID');
    expectOneLine(revision, 'INVALID_ARGUMENT');
    expect(verbose.code).toBe(2);
    expect(verbose.stderr.split('\n')[0]).toMatch(/^vitkit: .+ \[IMAGE_SOURCE_INVALID\]$/);
    expect(verbose.stderr).toMatch(STACK_LINE);
  });
});

describe('errorReport', () => {
  it('codes errors that are not VitkitErrors too: errno names, else INTERNAL with a pointer to --verbose', () => {
    const errno = Object.assign(new Error("EACCES: permission denied, open '/x'"), { code: 'EACCES' });
    expect(errorReport(errno, false)).toBe("vitkit: EACCES: permission denied, open '/x' [EACCES]\n");
    const internal = errorReport(new TypeError('x is not a function'), false);
    expect(internal).toMatch(/^vitkit: x is not a function \[INTERNAL\]\n.*--verbose/);
    expect(internal).not.toMatch(STACK_LINE);
    expect(errorReport('thrown string', false)).toMatch(/^vitkit: thrown string \[INTERNAL\]/);
    const wrapped = new VitkitError('HUB_HTTP_ERROR', 'outer', { cause: new Error('inner') });
    expect(errorReport(wrapped, false)).toBe('vitkit: outer [HUB_HTTP_ERROR]\n');
    const verbose = errorReport(wrapped, true);
    expect(verbose).toMatch(STACK_LINE);
    expect(verbose).toContain('caused by: Error: inner');
  });
});
