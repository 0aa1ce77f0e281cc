// Reading config.json / preprocessor_config.json bytes into an object, the same in Node and in
// browsers. No Node imports here.
import type { RawConfig } from '../config/model-config.js';
import { VitkitError } from '../errors/vitkit-error.js';

/**
 * Real configs nest a few levels (`id2label`, `size`); anything far deeper is not a config, and
 * would overflow the stack of the JSON.stringify that error messages quote values with.
 */
export const MAX_CONFIG_DEPTH = 64;

/** A JSON object from UTF-8 bytes or text; anything else is CONFIG_INVALID naming `label`. */
export function parseConfigJson(source: Uint8Array | string, label: string): RawConfig {
  let value: unknown;
  try {
    value = JSON.parse(typeof source === 'string' ? source : new TextDecoder().decode(source));
  } catch (cause) {
    throw new VitkitError('CONFIG_INVALID', `${label} is not valid JSON.`, { cause });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new VitkitError('CONFIG_INVALID', `${label} must hold a JSON object.`);
  }
  if (depthOf(value) > MAX_CONFIG_DEPTH) {
    throw new VitkitError('CONFIG_INVALID', `${label} nests values more than ${MAX_CONFIG_DEPTH} levels deep; it is not a model config.`);
  }
  return value as RawConfig;
}

/** Nesting depth of a parsed JSON value, walked without recursion. */
function depthOf(root: object): number {
  let deepest = 0;
  const pending: [unknown, number][] = [[root, 1]];
  while (pending.length > 0) {
    const [value, depth] = pending.pop() as [unknown, number];
    if (value === null || typeof value !== 'object') continue;
    deepest = Math.max(deepest, depth);
    if (deepest > MAX_CONFIG_DEPTH) return deepest;
    for (const child of Object.values(value)) pending.push([child, depth + 1]);
  }
  return deepest;
}
