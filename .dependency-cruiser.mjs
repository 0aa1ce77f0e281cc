// Import rules for every package's and app's sources, checked in CI by `pnpm check:deps`.
// Type-only imports count: a cycle through `import type` still ties the layers together.

import { fileURLToPath } from 'node:url';

// Tests beside a graph module run what it builds, so they may open a session; the layers hold for the sources.
const TESTS = '\\.test\\.ts$';

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'Modules must form layers that point one way; break the cycle by moving the shared piece down.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'graph-knows-no-devices',
      severity: 'error',
      comment:
        'core/src/graph records ONNX nodes and rewrites them; devices, sessions, models and the hub sit above it ' +
        '(device policy such as kernel choice or precision checks belongs to runtime/ or model/).',
      from: { path: '^packages/core/src/graph/', pathNot: TESTS },
      to: { path: '^packages/core/src/(runtime|model|hub)/' },
    },
    {
      name: 'attention-knows-no-devices',
      severity: 'error',
      comment: 'attention/ emits graph nodes only; which kernel a backend gets is decided in runtime/ and model/.',
      from: { path: '^packages/core/src/attention/', pathNot: TESTS },
      to: { path: '^packages/core/src/(runtime|model|hub)/' },
    },
    {
      name: 'graph-builder-below-attention',
      severity: 'error',
      comment: 'attention/ is built on the graph builder and ops; they must not import it back.',
      from: { path: '^packages/core/src/graph/(graph-builder|ops|value|onnx-proto)\\.ts$' },
      to: { path: '^packages/core/src/attention/' },
    },
  ],
  options: {
    // TypeScript sources are read before compilation, so `import type` edges are seen.
    tsPreCompilationDeps: true,
    // Workspace packages resolve to their sources (tsconfig.base's paths), so cycles across packages are seen too.
    tsConfig: { fileName: fileURLToPath(new URL('tooling/tsconfig.deps.json', import.meta.url)) },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|node_modules)/' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'types', 'node', 'default'],
      extensions: ['.ts', '.tsx', '.js', '.mjs'],
    },
  },
};
