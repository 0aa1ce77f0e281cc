// Which ModelClient the page uses. The worker-backed client replaces this one line once vitkit's
// worker API lands (see model-client.ts); the page depends only on the interface.
import { MainThreadClient } from './main-thread-client.js';
import type { ModelClient } from './model-client.js';

export function createModelClient(): ModelClient {
  return new MainThreadClient();
}
