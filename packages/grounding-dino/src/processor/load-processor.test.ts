import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadGroundingDinoProcessor } from './load-processor.js';

const fixture = fileURLToPath(new URL('../../../../fixtures/grounding_dino/swin-bert-tiny/', import.meta.url));
const fixtureFiles = new Map(
  ['processor_config.json', 'tokenizer_config.json', 'vocab.txt'].map((name) => [name, readFileSync(fixture + name, 'utf8')]),
);
const reader = (files: Map<string, string>) => async (file: string) => files.get(file);

describe('loadGroundingDinoProcessor', () => {
  it('loads the fixture folder (v5 processor_config.json, vocab.txt, tokenizer_config.json)', async () => {
    const processor = await loadGroundingDinoProcessor(reader(fixtureFiles));
    expect(processor.imageProcessor.options.size).toEqual({ shortest_edge: 64, longest_edge: 96 });
    expect(processor.tokenizer.encode('a dog.')).toEqual([101, 1030, 1034, 1012, 102]);
  });

  it('prefers preprocessor_config.json, and defaults to 800/1333 without any processor config', async () => {
    const files = new Map(fixtureFiles);
    files.set(
      'preprocessor_config.json',
      JSON.stringify({ image_processor_type: 'GroundingDinoImageProcessor', size: { shortest_edge: 32, longest_edge: 48 } }),
    );
    expect((await loadGroundingDinoProcessor(reader(files))).imageProcessor.options.size).toEqual({ shortest_edge: 32, longest_edge: 48 });
    files.delete('preprocessor_config.json');
    files.delete('processor_config.json');
    expect((await loadGroundingDinoProcessor(reader(files))).imageProcessor.options.size).toEqual({
      shortest_edge: 800,
      longest_edge: 1333,
    });
  });

  it('names the file of a broken JSON, and wants vocab.txt or tokenizer.json', async () => {
    const broken = new Map(fixtureFiles).set('tokenizer_config.json', '{ nope');
    await expect(loadGroundingDinoProcessor(reader(broken))).rejects.toMatchObject({
      code: 'TOKENIZER_CONFIG_INVALID',
      message: expect.stringContaining('tokenizer_config.json'),
    });
    const noVocab = new Map(fixtureFiles);
    noVocab.delete('vocab.txt');
    await expect(loadGroundingDinoProcessor(reader(noVocab))).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
  });
});
