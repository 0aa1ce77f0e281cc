// Scratch speed probe (not shipped): bundles deformable-attention-speed.ts with esbuild (sources, not dist) and runs it.
//   node packages/core/scripts/deformable-attention-speed.mjs [--kernel both|grid-sample|gather] [--runs 10] [--threads N] [--profile]
import { runBundled } from './run-bundled.mjs';

await runBundled('deformable-attention-speed');
