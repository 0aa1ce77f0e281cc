import { loadPretrained } from '@vitkit/core';
import { codeOf, fixturePath } from '@vitkit/test-support';
import { describe, expect, it } from 'vitest';
import { readSwinBackboneSpec, swinBackboneChannels } from './backbone.js';
import { swinBackboneStateDict } from './state-dict.js';

// SwinBackbone as a detector holds it: Grounding DINO's swin-bert-tiny fixture keeps one under
// model.backbone.conv_encoder.model. (its graph's parity is the grounding-dino family's test).
const CASE = 'grounding_dino/swin-bert-tiny';
const PREFIX = 'model.backbone.conv_encoder.model.';

describe('SwinBackbone', () => {
  it("declares the state dict of the fixture's backbone: no final layernorm, one hidden_states_norms per out_indices entry", async () => {
    const files = await loadPretrained(fixturePath(CASE));
    const backboneConfig = files.config.backbone_config as Record<string, unknown>;
    const declared = Object.fromEntries([...swinBackboneStateDict(backboneConfig)].map(([k, s]) => [k, s.shape]));
    const actual = Object.fromEntries(
      files.weights
        .keys()
        .filter((k) => k.startsWith(PREFIX))
        .map((k) => [k.slice(PREFIX.length), [...files.weights.shapeOf(k)]]),
    );
    expect(declared).toEqual(actual);
    const spec = readSwinBackboneSpec(backboneConfig, files.weights.scoped(PREFIX));
    expect(spec.outIndices).toEqual([2, 3, 4]);
    expect(swinBackboneChannels(spec)).toEqual([16, 32, 64]);
  });

  it('refuses out_indices that name no stage', async () => {
    const files = await loadPretrained(fixturePath(CASE));
    const backboneConfig = { ...(files.config.backbone_config as Record<string, unknown>), out_indices: [2, 5] };
    expect(codeOf(() => readSwinBackboneSpec(backboneConfig, files.weights.scoped(PREFIX)))).toBe('CONFIG_INVALID');
  });
});
