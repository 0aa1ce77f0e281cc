// Grounding DINO (@vitkit/grounding-dino) is the one prompt-driven family; this module is the only
// place the playground knows of it. The prompt task turns on when the registry has that family and
// the loaded model offers the user API issue 16 specifies,
//   detect(images, 'a cat. a remote control.', { threshold, textThreshold }) → [{ label, score, box }] per image.
// The worker client reaches the same call through the worker API's detectPrompted.
import type { ModelFamily, VisionModel } from '@vitkit/core';

const GROUNDING_DINO_PACKAGE = '@vitkit/grounding-dino';

export interface GroundedDetection {
  label: string;
  score: number;
  box: readonly number[];
}

export interface GroundedDetector {
  detect(images: unknown, prompt: string, options: { threshold: number; textThreshold: number }): Promise<GroundedDetection[][]>;
}

/** The model as a prompt-driven detector, when the registry built it with Grounding DINO's family and it has that API. */
export function asGroundedDetector(model: VisionModel, family: ModelFamily): GroundedDetector | undefined {
  if (family.packageName !== GROUNDING_DINO_PACKAGE) return undefined;
  const detect = (model as unknown as { detect?: unknown }).detect;
  return typeof detect === 'function' ? (model as unknown as GroundedDetector) : undefined;
}
