import { type ModelFamily, VitkitError } from '@vitkit/core';
import { deitFamily } from '@vitkit/deit';
import { detrFamily } from '@vitkit/detr';
import { dinoFamily } from '@vitkit/dino';
import { swinFamily } from '@vitkit/swin';

/** Every family the CLI can run, found by `config.json` → `architectures[0]`. */
export const FAMILIES: ModelFamily[] = [dinoFamily, deitFamily, swinFamily, detrFamily];

export function familyFor(architecture: string | undefined): ModelFamily {
  const family = FAMILIES.find((f) => architecture !== undefined && f.architectures.includes(architecture));
  if (!family) {
    const known = FAMILIES.flatMap((f) => f.architectures).join(', ');
    throw new VitkitError(
      'MODEL_TYPE_UNSUPPORTED',
      `No vitkit family builds "${architecture ?? '(no architectures in config.json)'}". Known: ${known}.`,
    );
  }
  return family;
}
