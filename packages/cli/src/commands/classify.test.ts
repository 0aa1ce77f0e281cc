import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { registerClassify, runClassify } from './classify.js';

const FIXTURES = fileURLToPath(new URL('../../../../fixtures/', import.meta.url));
const IMAGES = [`${FIXTURES}preprocess/images/cats.png`, `${FIXTURES}preprocess/images/synthetic_97x61.png`];

async function cli(args: string[]): Promise<string> {
  const program = new Command('vitkit').exitOverride().configureOutput({ writeErr: () => {} });
  registerClassify(program);
  const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    await program.parseAsync(['node', 'vitkit', 'classify', ...args]);
    return write.mock.calls.map((c) => String(c[0])).join('');
  } finally {
    write.mockRestore();
  }
}

describe('vitkit classify', () => {
  afterEach(() => vi.restoreAllMocks());

  it('classifies with any registered classification head (DeiT distilled, Swin, Swin V2, DINOv2 and DINOv2 with registers), picked by config.json', async () => {
    const models = [
      'deit/with-teacher',
      'swin/classification',
      'swinv2/classification',
      'dinov2/classification',
      'dinov2_with_registers/classification',
    ];
    for (const model of models) {
      const results = await runClassify(IMAGES, { model: `${FIXTURES}${model}`, topK: 3, device: 'cpu' });
      expect(results.map((r) => r.image)).toEqual(IMAGES);
      for (const { classes } of results) {
        expect(classes).toHaveLength(3);
        expect(classes[0].label).toMatch(/^LABEL_\d$/);
        expect(classes[0].score).toBeGreaterThanOrEqual(classes[1].score);
      }
    }
  });

  it('prints top-k lines per image, or JSON', async () => {
    const text = await cli([IMAGES[0], '--model', `${FIXTURES}swin/classification`, '--top-k', '2']);
    expect(text.split('\n').filter(Boolean)).toHaveLength(3);
    expect(text).toMatch(/^ {2}0\.\d{4} {2}LABEL_\d$/m);
    const json = JSON.parse(await cli([IMAGES[0], '--model', `${FIXTURES}deit/with-teacher`, '--json']));
    expect(json[0].classes).toHaveLength(5);
  });

  it('refuses checkpoints without a classification head and a bad --top-k', async () => {
    await expect(runClassify(IMAGES, { model: `${FIXTURES}swin/padding-shifted`, topK: 5, device: 'cpu' })).rejects.toMatchObject({
      code: 'MODEL_TYPE_UNSUPPORTED',
    });
    await expect(runClassify(IMAGES, { model: `${FIXTURES}dinov2/default-res`, topK: 5, device: 'cpu' })).rejects.toMatchObject({
      code: 'MODEL_TYPE_UNSUPPORTED',
    });
    await expect(cli([IMAGES[0], '--model', `${FIXTURES}deit/with-teacher`, '--top-k', '0'])).rejects.toThrow(/positive integer/);
  });
});
