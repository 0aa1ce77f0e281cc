import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensors } from '@vitkit/core';
import { fixturePath } from '@vitkit/test-support';
import { Command } from 'commander';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { registerDino } from './dino.js';

const workDir = mkdtempSync(join(tmpdir(), 'vitkit-dino-cli-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));
const CATS = fixturePath('preprocess/images/cats.png');

async function vitkit(...args: string[]): Promise<void> {
  const program = new Command('vitkit').exitOverride();
  registerDino(program);
  await program.parseAsync(args, { from: 'user' });
}

async function pngStats(path: string) {
  const { data, info } = await sharp(readFileSync(path)).raw().toBuffer({ resolveWithObject: true });
  let min = 255;
  let max = 0;
  for (const v of data) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  return { width: info.width, height: info.height, channels: info.channels, min, max, distinct: new Set(data).size };
}

describe('vitkit attention / pca / embed', () => {
  it('attention writes a heat-map PNG the size of the model’s view, with a full value range', async () => {
    const out = join(workDir, 'heat.png');
    await vitkit('attention', CATS, '--model', fixturePath('vit/dino-attentions'), '--out', out);
    const s = await pngStats(out);
    expect([s.width, s.height, s.channels]).toEqual([32, 32, 3]);
    expect(s.max).toBeGreaterThan(200); // the hottest patch is near white
    expect(s.distinct).toBeGreaterThan(30);
  });

  it('pca writes an RGB PNG of grid × patch pixels, each channel stretched to 0..255', async () => {
    const out = join(workDir, 'pca.png');
    await vitkit('pca', CATS, '--model', fixturePath('dinov2/default-res'), '--out', out);
    const s = await pngStats(out);
    expect([s.width, s.height]).toEqual([56, 56]);
    expect([s.min, s.max]).toEqual([0, 255]);
  });

  it('embed writes cls and patches', async () => {
    const out = join(workDir, 'emb.safetensors');
    await vitkit('embed', CATS, CATS, '--model', fixturePath('dinov2/default-res'), '--out', out);
    const t = readSafetensors(readFileSync(out)).tensors;
    expect(t.get('cls')?.shape).toEqual([2, 32]);
    expect(t.get('patches')?.shape).toEqual([2, 4, 4, 32]);
  });

  it('embed, attention and pca take a DINOv3 checkpoint (registers written; its fast processor: 224x224, no crop)', async () => {
    const model = fixturePath('dinov3/default-res');
    const emb = join(workDir, 'dinov3.safetensors');
    await vitkit('embed', CATS, '--model', model, '--out', emb);
    const t = readSafetensors(readFileSync(emb)).tensors;
    expect(t.get('cls')?.shape).toEqual([1, 32]);
    expect(t.get('registers')?.shape).toEqual([1, 4, 32]);
    expect(t.get('patches')?.shape).toEqual([1, 28, 28, 32]);
    const heat = join(workDir, 'dinov3-heat.png');
    await vitkit('attention', CATS, '--model', model, '--out', heat);
    const h = await pngStats(heat);
    expect([h.width, h.height]).toEqual([224, 224]);
    expect(h.distinct).toBeGreaterThan(30);
    const pca = join(workDir, 'dinov3-pca.png');
    await vitkit('pca', CATS, '--model', model, '--out', pca);
    const p = await pngStats(pca);
    expect([p.width, p.height, p.min, p.max]).toEqual([224, 224, 0, 255]);
  });
});
