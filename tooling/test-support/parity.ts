import { existsSync, readdirSync } from 'node:fs';
import type { Tensor } from '../../packages/core/src/tensor/tensor.js';
import { FIXTURES_DIR, readFixtureJson, readFixtureTensors } from './fixtures.js';

export interface FixtureCase {
  /** e.g. 'dinov2/default-res' */
  id: string;
  modelClass: string;
  atol: number;
  rtol: number;
  outputHiddenStates: boolean;
  outputAttentions: boolean;
  inputs: Map<string, Tensor>;
  expected: Map<string, Tensor>;
}

/**
 * Every model case under the given fixture folders (default: all of fixtures/), read from
 * case.json: one parity test each, so a new fixture case is tested without writing a test.
 */
export function listModelCases(families?: readonly string[]): FixtureCase[] {
  const cases: FixtureCase[] = [];
  const folders =
    families ??
    readdirSync(FIXTURES_DIR, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
  for (const family of [...folders].sort()) {
    for (const name of readdirSync(`${FIXTURES_DIR}${family}`).sort()) {
      const id = `${family}/${name}`;
      if (!existsSync(`${FIXTURES_DIR}${id}/case.json`) || !existsSync(`${FIXTURES_DIR}${id}/expected.safetensors`)) continue;
      const c = readFixtureJson<{ model_class: string; atol: number; rtol: number; call: string }>(`${id}/case.json`);
      if (!existsSync(`${FIXTURES_DIR}${id}/config.json`)) continue;
      cases.push({
        id,
        modelClass: c.model_class,
        atol: c.atol,
        rtol: c.rtol,
        outputHiddenStates: /output_hidden_states=True/.test(c.call),
        outputAttentions: /output_attentions=True/.test(c.call),
        inputs: readFixtureTensors(`${id}/input.safetensors`),
        expected: readFixtureTensors(`${id}/expected.safetensors`),
      });
    }
  }
  return cases;
}
