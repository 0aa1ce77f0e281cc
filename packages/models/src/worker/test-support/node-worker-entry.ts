// A Node worker thread's script: the whole of what an app writes there.
import { exposeModelWorker } from '../index.js';

exposeModelWorker();
