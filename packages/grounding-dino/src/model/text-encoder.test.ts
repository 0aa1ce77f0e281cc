import { GraphBuilder, ModelSession, Tensor } from '@vitkit/core/internal';
import { seededRandom } from '@vitkit/test-support';
import { describe, expect, it } from 'vitest';
import { toInt32 } from './onnx-ops.js';
import { phraseMasks, SPECIAL_TOKEN_IDS } from './text-encoder.js';

/**
 * transformers' loop (generate_masks_with_special_tokens_and_transfer_map), written out directly:
 * special tokens in row-major order, one previous_col for the whole batch. Position ids as v5.2.0
 * gives them: 0, 1, … over a phrase's words, 0 for its closing special token.
 */
function referenceMasks(ids: number[][]): { mask: boolean[][][]; positions: number[][] } {
  const length = ids[0].length;
  const mask = ids.map(() => Array.from({ length }, (_, i) => Array.from({ length }, (_, j) => i === j)));
  const positions = ids.map(() => new Array<number>(length).fill(0));
  let previous = 0;
  ids.forEach((row, r) => {
    row.forEach((id, col) => {
      if (!(SPECIAL_TOKEN_IDS as readonly number[]).includes(id)) return;
      if (col !== 0 && col !== length - 1) {
        for (let i = previous + 1; i <= col; i++) {
          for (let j = previous + 1; j <= col; j++) mask[r][i][j] = true;
          positions[r][i] = i === col ? 0 : i - previous - 1;
        }
      }
      previous = col;
    });
  });
  return { mask, positions };
}

async function graphMasks(ids: number[][]): Promise<{ mask: boolean[][][]; positions: number[][] }> {
  const g = new GraphBuilder();
  const input = g.input('input_ids', 'int64', ['batch', 'sequence']);
  const { mask, positionIds } = phraseMasks(g, toInt32(g, input));
  g.output(mask, 'mask');
  g.output(positionIds, 'positions');
  const session = await ModelSession.create(g.toModelProto(), { device: 'cpu' });
  try {
    const [b, l] = [ids.length, ids[0].length];
    const feed = new Tensor('int64', BigInt64Array.from(ids.flat(), BigInt), [b, l]);
    const out = await session.run({ input_ids: feed });
    const m = out.mask.data as Uint8Array;
    const p = out.positions.data as Float32Array;
    return {
      mask: ids.map((_, r) => Array.from({ length: l }, (_, i) => Array.from({ length: l }, (_, j) => m[(r * l + i) * l + j] === 1))),
      positions: ids.map((_, r) => Array.from(p.subarray(r * l, (r + 1) * l))),
    };
  } finally {
    await session.dispose();
  }
}

describe('the phrase-wise text mask and position ids, in the graph', () => {
  it('match the fixture prompts ("a cat. a remote control." and "a dog." padded)', async () => {
    const ids = [
      [101, 1030, 1031, 1012, 1030, 1032, 1033, 1012, 102],
      [101, 1030, 1034, 1012, 102, 0, 0, 0, 0],
    ];
    const got = await graphMasks(ids);
    expect(got.positions).toEqual([
      [0, 0, 1, 0, 0, 1, 2, 0, 0],
      [0, 0, 1, 0, 0, 0, 0, 0, 0],
    ]);
    expect(got).toEqual(referenceMasks(ids));
  });

  it('match the reference loop on random batches (no [CLS], no specials, specials side by side, at the ends)', async () => {
    const random = seededRandom(16);
    const pick = () => Math.abs(random()) % 1;
    for (let trial = 0; trial < 20; trial++) {
      const batch = 1 + Math.floor(pick() * 4);
      const length = 2 + Math.floor(pick() * 12);
      const ids = Array.from({ length: batch }, () =>
        Array.from({ length }, () => (pick() < 0.35 ? SPECIAL_TOKEN_IDS[Math.floor(pick() * 4)] : 1000 + Math.floor(pick() * 40))),
      );
      expect(await graphMasks(ids), JSON.stringify(ids)).toEqual(referenceMasks(ids));
    }
  });
});
