// Scratch speed probe (not shipped): bundles speed-probe.ts with esbuild (sources, not dist) and runs it.
//   node packages/core/scripts/speed-probe.mjs [--raw /tmp/pm/dinov2-small] [--dtypes fp32,int8] [--runs 20] [--profile]
import { runBundled } from './run-bundled.mjs';

await runBundled('speed-probe');
