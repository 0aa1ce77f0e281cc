// Which ModelClient the page uses: the model in a Web Worker (vitkit's worker API), so graph builds
// and runs never block the page; on the page's own thread with ?client=main, or where the browser
// has no module workers.
import { MainThreadClient } from './main-thread-client.js';
import type { ModelClient } from './model-client.js';
import { WorkerClient } from './worker-client.js';

export function createModelClient(): ModelClient {
  const wanted = new URLSearchParams(location.search).get('client');
  if (wanted === 'main' || typeof Worker === 'undefined') return new MainThreadClient();
  return new WorkerClient();
}
