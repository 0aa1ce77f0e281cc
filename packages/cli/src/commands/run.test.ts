import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensors, VitkitError } from '@vitkit/core';
import { FAMILIES } from '@vitkit/models';
import { compareArrays, fixturePath, listModelCases } from '@vitkit/test-support';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { registerRun } from './run.js';

// The parity contract tools rely on: `vitkit run <case> --inputs input.safetensors --out out.safetensors`
// reproduces expected.safetensors, for every fixture case whose class a registered family builds. On cpu
// here; the registry's contract test (packages/models) holds the same cases on wasm and webgpu.
const KNOWN = new Set(FAMILIES.flatMap((f) => f.architectures));
const CASES = listModelCases().filter((c) => KNOWN.has(c.modelClass));
const workDir = mkdtempSync(join(tmpdir(), 'vitkit-run-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

async function vitkit(...args: string[]): Promise<void> {
  const program = new Command('vitkit').exitOverride();
  registerRun(program);
  await program.parseAsync(args, { from: 'user' });
}

describe.each(['cpu'] as const)('vitkit run on %s', (device) => {
  it.each(CASES.map((c) => [c.id, c] as const))('reproduces %s', async (id, c) => {
    const out = join(workDir, `${id.replace('/', '_')}-${device}.safetensors`);
    const flags = [...(c.outputHiddenStates ? ['--output-hidden-states'] : []), ...(c.outputAttentions ? ['--output-attentions'] : [])];
    // On cpu the first run fills the compiled-graph cache and the second loads from it: both must reproduce the reference.
    for (const pass of device === 'cpu' ? ['built', 'cached'] : ['built']) {
      await vitkit('run', fixturePath(id), '--inputs', fixturePath(`${id}/input.safetensors`), '--out', out, '--device', device, ...flags);
      const written = readSafetensors(readFileSync(out)).tensors;
      for (const [name, expected] of c.expected) {
        const actual = written.get(name);
        expect(actual?.shape, `${pass}: ${name}`).toEqual(expected.shape);
        const cmp = compareArrays(actual!.data as Float32Array, expected.data as Float32Array, c.atol, c.rtol);
        expect(cmp.ok, `${pass}: ${name}: max |diff| ${cmp.maxAbs}`).toBe(true);
      }
    }
  });
});

describe('vitkit run and the compiled-graph cache', () => {
  it('keeps the compiled graph for the next run (same outputs), and not with --no-cache', async () => {
    const id = 'deit/with-teacher';
    const saved = process.env.VITKIT_CACHE;
    process.env.VITKIT_CACHE = mkdtempSync(join(workDir, 'cache-'));
    try {
      const run = async (tag: string, ...extra: string[]) => {
        const out = join(workDir, `cache-${tag}.safetensors`);
        await vitkit('run', fixturePath(id), '--pixels', fixturePath(`${id}/input.safetensors`), '--out', out, ...extra);
        return readSafetensors(readFileSync(out)).tensors.get('logits')!.data as Float32Array;
      };
      const entries = () => readdirSync(join(process.env.VITKIT_CACHE as string, 'optimized'));
      const first = await run('first');
      expect(entries()).toHaveLength(1);
      const second = await run('second');
      expect(Array.from(second)).toEqual(Array.from(first));
      rmSync(join(process.env.VITKIT_CACHE as string, 'optimized'), { recursive: true });
      await run('uncached', '--no-cache');
      expect(() => entries()).toThrow(); // no folder: nothing was written
    } finally {
      rmSync(process.env.VITKIT_CACHE as string, { recursive: true, force: true });
      if (saved === undefined) delete process.env.VITKIT_CACHE;
      else process.env.VITKIT_CACHE = saved;
    }
  });
});

describe('vitkit run errors', () => {
  it('names a missing input tensor (--pixels is an alias of --inputs)', async () => {
    const id = 'dinov2/default-res';
    await expect(
      vitkit('run', fixturePath(id), '--pixels', fixturePath(`${id}/expected.safetensors`), '--out', join(workDir, 'x.safetensors')),
    ).rejects.toMatchObject({ code: 'INPUT_MISSING', message: expect.stringContaining('pixel_values') });
  });

  it('asks for --inputs when none is given', async () => {
    await expect(vitkit('run', fixturePath('dinov2/default-res'), '--out', join(workDir, 'y.safetensors'))).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });

  it('refuses an unreadable pixels file with FILE_NOT_FOUND and writes nothing', async () => {
    const out = join(workDir, 'never.safetensors');
    const err = await vitkit(
      'run',
      fixturePath('dinov2/default-res'),
      '--pixels',
      join(workDir, 'missing.safetensors'),
      '--out',
      out,
    ).catch((e) => e);
    expect(err).toBeInstanceOf(VitkitError);
    expect(err.code).toBe('FILE_NOT_FOUND');
    expect(() => readFileSync(out)).toThrow();
  });
});
