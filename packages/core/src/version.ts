/**
 * This release's version (every @vitkit package releases together), for caches that must not reuse
 * what another version built. Bundles have no package.json to read; version.test.ts holds this
 * equal to packages/core/package.json's.
 */
export const VITKIT_VERSION = '0.1.0';
