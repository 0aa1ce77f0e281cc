import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSafetensors } from '@vitkit/core';
import { describe, expect, it } from 'vitest';
import { stateDictSpec, synthesizeWeights } from './synthesize.js';

const FIXTURES = fileURLToPath(new URL('../../../fixtures/', import.meta.url));

function fixture(name: string) {
  const config = JSON.parse(readFileSync(join(FIXTURES, name, 'config.json'), 'utf8'));
  const file = readSafetensors(new Uint8Array(readFileSync(join(FIXTURES, name, 'model.safetensors'))));
  const shapes = new Map([...file.tensors].map(([k, t]) => [k, [...t.shape]]));
  return { config, shapes };
}

// The synthesized state dict must be the one Hugging Face writes: same names, same shapes.
describe('synthesized state dicts match real checkpoints', () => {
  for (const name of [
    'vit/dino-attentions',
    'dinov2/default-res',
    'dinov2/swiglu-layerscale',
    'dinov2/classification',
    'dinov2_with_registers/registers',
    'deit/model',
    'deit/with-teacher',
    'swin/classification',
  ]) {
    it(name, () => {
      const { config, shapes } = fixture(name);
      const spec = new Map([...stateDictSpec(config)].map(([k, s]) => [k, s.shape]));
      expect(Object.fromEntries(spec)).toEqual(Object.fromEntries(shapes));
    });
  }

  // The fixture's ResNet is narrowed (timm kwargs not in config.json), so its widths, and the projection's input channels, differ.
  it('detr/timm-resnet50-tiny (transformer exactly; backbone by name pattern)', () => {
    const { config, shapes } = fixture('detr/timm-resnet50-tiny');
    const spec = new Map([...stateDictSpec(config)].map(([k, s]) => [k, s.shape]));
    const notBackbone = (m: Map<string, number[]>) =>
      Object.fromEntries([...m].filter(([k]) => !k.startsWith('model.backbone.') && k !== 'model.input_projection.weight'));
    expect(notBackbone(spec)).toEqual(notBackbone(shapes));
    const pattern = (m: Map<string, number[]>) =>
      new Set([...m.keys()].filter((k) => k.startsWith('model.backbone.')).map((k) => k.replace(/layer(\d)\.\d+\./, 'layer$1.N.')));
    expect(pattern(spec)).toEqual(pattern(shapes));
  });

  it('is deterministic, with sane scales', () => {
    const { config } = fixture('dinov2/default-res');
    const a = synthesizeWeights(config);
    const b = synthesizeWeights(config);
    for (const [k, t] of a) expect(t.data).toEqual(b.get(k)!.data);
    const w = a.get('encoder.layer.0.mlp.fc1.weight')!.data as Float32Array;
    const std = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
    expect(std).toBeGreaterThan(0.015);
    expect(std).toBeLessThan(0.025);
    const norm = a.get('layernorm.weight')!.data as Float32Array;
    expect(Math.abs(norm.reduce((s, v) => s + v, 0) / norm.length - 1)).toBeLessThan(0.02);
  });
});
