import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const core = (p: string) => fileURLToPath(new URL(`../packages/core/src/${p}`, import.meta.url));

// A CPU-only machine gets a WebGPU adapter from Chromium's SwiftShader Vulkan driver (apt: chromium).
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const testEnv: Record<string, string> =
  !process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD) ? { VK_ICD_FILENAMES: SWIFTSHADER_ICD } : {};
// The Vulkan loader complains on every session without a runtime dir; give it a private one.
if (!process.env.XDG_RUNTIME_DIR) testEnv.XDG_RUNTIME_DIR = mkdtempSync(join(tmpdir(), 'vitkit-xdg-'));
// The CLI caches compiled graphs by default: keep the tests' out of the user's ~/.cache.
if (!process.env.VITKIT_CACHE) testEnv.VITKIT_CACHE = mkdtempSync(join(tmpdir(), 'vitkit-test-cache-'));

/**
 * Tests run against sources, not builds: workspace packages resolve to their `src/`, so a change
 * in core is seen by every family's tests without a rebuild.
 */
export default defineConfig({
  resolve: {
    alias: [
      { find: /^@vitkit\/core\/internal$/, replacement: core('internal.ts') },
      { find: /^@vitkit\/core$/, replacement: core('index.ts') },
      { find: /^@vitkit\/cli\/bench$/, replacement: fileURLToPath(new URL('../packages/cli/src/commands/bench.ts', import.meta.url)) },
      { find: /^@vitkit\/models\/worker$/, replacement: fileURLToPath(new URL('../packages/models/src/worker/index.ts', import.meta.url)) },
      { find: /^@vitkit\/test-support$/, replacement: fileURLToPath(new URL('./test-support/index.ts', import.meta.url)) },
      // Every package by its folder name (@vitkit/<name> is packages/<name>), so a new family needs no entry here.
      { find: /^@vitkit\/([a-z0-9-]+)$/, replacement: fileURLToPath(new URL('../packages/$1/src/index.ts', import.meta.url)) },
      { find: /^#platform$/, replacement: core('platform/node.ts') },
    ],
  },
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    env: testEnv,
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Type tests of the public API (expectTypeOf), checked by tsc with the package's tsconfig.
    typecheck: { enabled: true, include: ['src/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
  },
});
