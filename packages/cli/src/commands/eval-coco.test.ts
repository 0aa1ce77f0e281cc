import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { registerEvalCoco } from './eval-coco.js';

const DIR = fileURLToPath(new URL('../../../../fixtures/coco_eval/', import.meta.url));
const GT = join(DIR, 'gt.json');
const DT = join(DIR, 'dt.json');
const temps: string[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  for (const dir of temps.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function evalCoco(...args: string[]): Promise<string> {
  let out = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out += String(chunk);
    return true;
  });
  const program = new Command('vitkit').exitOverride();
  registerEvalCoco(program);
  await program.parseAsync(['node', 'vitkit', 'eval-coco', ...args]);
  vi.restoreAllMocks();
  return out;
}

const expected = JSON.parse(await readFile(join(DIR, 'expected.json'), 'utf8')) as {
  runs: { name: string; set_params: { catIds?: number[]; imgIds?: number[] }; summary: string[]; stats: number[] }[];
};

describe('vitkit eval-coco', () => {
  it.each(expected.runs.map((r) => [r.name, r] as const))("prints pycocotools' summary (%s) and AP per category", async (_, run) => {
    const args = ['--gt', GT, '--dt', DT];
    if (run.set_params.catIds) args.push('--cat-ids', run.set_params.catIds.join(','));
    if (run.set_params.imgIds) args.push('--img-ids', run.set_params.imgIds.join(','));
    const lines = (await evalCoco(...args)).split('\n');
    expect(lines.slice(0, 12)).toEqual(run.summary);
    expect(lines[13]).toMatch(/^category +AP +AP50 +AP75 +AR100 +gt$/);
    if (run.name === 'default')
      expect(lines.slice(14, 18).map((l) => l.split(/ {2,}/)[0])).toEqual(['1 person', '3 car', '18 dog', '62 chair']);
  });

  it('writes the stats as JSON, to a file or instead of the text', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vitkit-eval-coco-'));
    temps.push(dir);
    await evalCoco('--gt', GT, '--dt', DT, '--json', join(dir, 'e.json'));
    const written = JSON.parse(await readFile(join(dir, 'e.json'), 'utf8'));
    written.stats.forEach((s: number, i: number) => expect(Math.abs(s - expected.runs[0].stats[i])).toBeLessThan(1e-12));
    expect(written.perCategory['18'].name).toBe('dog');
    const only = JSON.parse(await evalCoco('--gt', GT, '--dt', DT, '--json', '-', '--max-dets', '1,10,50'));
    expect(only.stats[0]).toBe(-1); // pycocotools' summarize asks for maxDets=100 there
    expect(only.params.maxDets).toEqual([1, 10, 50]);
  });

  it('refuses bad files and flags with typed errors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vitkit-eval-coco-'));
    temps.push(dir);
    await writeFile(join(dir, 'broken.json'), '{"images": [');
    const codeOf = (p: Promise<unknown>) =>
      p.then(
        () => 'accepted',
        (e: { code?: string }) => e.code ?? String(e),
      );
    expect(await codeOf(evalCoco('--gt', join(dir, 'missing.json'), '--dt', DT))).toBe('FILE_NOT_FOUND');
    expect(await codeOf(evalCoco('--gt', join(dir, 'broken.json'), '--dt', DT))).toBe('COCO_JSON_INVALID');
    expect(await codeOf(evalCoco('--gt', DT, '--dt', GT))).toBe('COCO_JSON_INVALID'); // swapped
    expect(await codeOf(evalCoco('--gt', GT, '--dt', DT, '--max-dets', '1,10'))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(evalCoco('--gt', GT, '--dt', DT, '--cat-ids', 'dog'))).toBe('INVALID_ARGUMENT');
  });
});
