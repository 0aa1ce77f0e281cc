// Run in a child process by load-weights.test.ts: loads a checkpoint folder, reads the named
// tensors, and reports their values and the process's peak RSS (which a test runner's own process
// would blur).
import { localFolderFiles } from '../../hub/local-folder.js';
import { loadWeights } from '../load-weights.js';

const [dir, ...names] = process.argv.slice(2);
try {
  const store = await loadWeights(localFolderFiles(dir));
  const tensors: Record<string, number[]> = {};
  for (const name of names) tensors[name] = Array.from(store.get(name).data as Float32Array);
  console.log(JSON.stringify({ keys: store.keys().sort(), tensors, maxRssBytes: process.resourceUsage().maxRSS * 1024 }));
} catch (e) {
  console.log(JSON.stringify({ error: (e as { code?: string }).code ?? (e as Error).name, message: (e as Error).message }));
}
