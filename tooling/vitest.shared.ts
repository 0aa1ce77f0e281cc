import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const core = (p: string) => fileURLToPath(new URL(`../packages/core/src/${p}`, import.meta.url));

/**
 * Tests run against sources, not builds: workspace packages resolve to their `src/`, so a change
 * in core is seen by every family's tests without a rebuild.
 */
export default defineConfig({
  resolve: {
    alias: [
      { find: /^@vitkit\/core\/internal$/, replacement: core('internal.ts') },
      { find: /^@vitkit\/core$/, replacement: core('index.ts') },
      { find: /^#platform$/, replacement: core('platform/node.ts') },
    ],
  },
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
  },
});
