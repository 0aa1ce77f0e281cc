import type { ModelFamily } from '@vitkit/core';
import { deitFamily } from '@vitkit/deit';
import { detrFamily } from '@vitkit/detr';
import { dinoFamily } from '@vitkit/dino';
import { groundingDinoFamily } from '@vitkit/grounding-dino';
import { swinFamily } from '@vitkit/swin';

/**
 * The registry: every family vitkit ships, one line each. The CLI, `AutoModel`, the bench and the
 * contract test read this list and nothing else; a new family package is added here and is then
 * picked up everywhere (see CONTRIBUTING.md, "Adding a model family").
 */
export const FAMILIES: readonly ModelFamily[] = [dinoFamily, deitFamily, swinFamily, detrFamily, groundingDinoFamily];
