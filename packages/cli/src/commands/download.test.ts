import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isVitkitError } from '@vitkit/core';
import { Command } from 'commander';
import { afterEach, expect, it, vi } from 'vitest';
import { registerDownload } from './download.js';

const FIXTURE = new URL('../../../../fixtures/dinov2/default-res', import.meta.url).pathname;
const temps: string[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  delete process.env.HF_HUB_OFFLINE;
  for (const dir of temps.splice(0)) await rm(dir, { recursive: true, force: true });
});

function program(): Command {
  const p = new Command('vitkit').exitOverride();
  registerDownload(p);
  return p;
}

it('prints the checkpoint folder on stdout once everything is in place', async () => {
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  await program().parseAsync(['node', 'vitkit', 'download', FIXTURE]);
  expect(stdout).toHaveBeenCalledWith(`${FIXTURE}\n`);
});

it('passes --cache-dir and --revision through, so an offline cold cache fails naming them', async () => {
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  const cacheDir = await mkdtemp(join(tmpdir(), 'vitkit-cli-'));
  temps.push(cacheDir);
  process.env.HF_HUB_OFFLINE = '1';
  const error = await program()
    .parseAsync(['node', 'vitkit', 'download', 'org/model', '--revision', 'v2', '--cache-dir', cacheDir])
    .catch((e: unknown) => e);
  expect(isVitkitError(error, 'HUB_OFFLINE_MISS')).toBe(true);
  expect((error as Error).message).toContain(cacheDir);
  expect((error as Error).message).toContain('revision "v2"');
});
