import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { VITKIT_VERSION } from './version.js';

it('VITKIT_VERSION is the package version (bump both together)', () => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  expect(VITKIT_VERSION).toBe(pkg.version);
});
