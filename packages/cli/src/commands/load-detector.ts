// Loading a detector for `vitkit detect`: a class detector (DETR) or a text-conditioned one (Grounding DINO)
// bound to its prompt, behind one call shape for single images and folders alike.
import { type Device, type RgbImage, VitkitError } from '@vitkit/core';
import { type CacheFlag, optimizedModelCache } from '../model-cache.js';
import { type Detector, loadModelFor, type PromptedDetection, type PromptedDetector } from '../model-capabilities.js';

export interface DetectCommandOptions extends CacheFlag {
  model: string;
  /** Default 0.9 for a class detector (DETR), 0.35 with a prompt (Grounding DINO's box threshold). */
  threshold?: number;
  /** A text-conditioned detector's prompt: "a cat. a remote control." */
  prompt?: string;
  /** With a prompt: a token joins a box's label when its score passes this (default 0.25). */
  textThreshold?: number;
  out?: string;
  device: Device;
}

/** What a command prints or draws for one object: DETR's class (with its id), or a prompt's phrase. */
export type Detection = PromptedDetection & { labelId?: number };

export function checkScore(flag: string, value: number | undefined): void {
  if (value !== undefined && !(value >= 0 && value <= 1))
    throw new VitkitError('INVALID_ARGUMENT', `${flag} must be between 0 and 1, got ${value}.`);
}

/** A loaded detector as the commands use it: a class detector, or a prompted one given its prompt. */
export interface LoadedDetector {
  detect(images: RgbImage[]): Promise<Detection[][]>;
  dispose(): Promise<void>;
}

/** Loads `--model` and binds the options: a prompt needs a text-conditioned detector, and such a detector needs a prompt. */
export async function loadDetector(o: DetectCommandOptions): Promise<LoadedDetector> {
  checkScore('--threshold', o.threshold);
  checkScore('--text-threshold', o.textThreshold);
  const options = { device: o.device, optimizedModelCache: optimizedModelCache(o) };
  if (o.prompt !== undefined) {
    if (!o.prompt.trim())
      throw new VitkitError('INVALID_ARGUMENT', '--prompt is empty: name what to find, e.g. "a cat. a remote control."');
    const model: PromptedDetector = await loadModelFor('tokenize', 'detect --prompt', o.model, options);
    const prompt = o.prompt;
    return {
      detect: (images) => model.detect(images, prompt, { threshold: o.threshold ?? 0.35, textThreshold: o.textThreshold ?? 0.25 }),
      dispose: () => model.dispose(),
    };
  }
  const model: Detector = await loadModelFor('detect', 'detect', o.model, options);
  if (typeof (model as unknown as Record<string, unknown>).tokenize === 'function') {
    await model.dispose();
    throw new VitkitError('INVALID_ARGUMENT', `${o.model} detects what a text prompt names: pass --prompt "a cat. a remote control."`);
  }
  return { detect: (images) => model.detect(images, { threshold: o.threshold ?? 0.9 }), dispose: () => model.dispose() };
}
