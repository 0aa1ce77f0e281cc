import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Tensor } from '../../packages/core/src/tensor/tensor.js';
import { readSafetensors } from '../../packages/core/src/weights/safetensors.js';

/** The repo's fixtures/ folder: reference fixtures copied into the repo, so a user's clone has everything the tests read. */
export const FIXTURES_DIR = fileURLToPath(new URL('../../fixtures/', import.meta.url));

export function fixturePath(rel: string): string {
  return `${FIXTURES_DIR}${rel}`;
}

export function readFixtureTensors(rel: string): Map<string, Tensor> {
  return readSafetensors(readFileSync(fixturePath(rel)), rel).tensors;
}

export function readFixtureJson<T = Record<string, unknown>>(rel: string): T {
  return JSON.parse(readFileSync(fixturePath(rel), 'utf8')) as T;
}
