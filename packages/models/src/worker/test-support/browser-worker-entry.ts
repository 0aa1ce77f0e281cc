// A Web Worker's script, as an app writes it.
import { exposeModelWorker } from '@vitkit/models/worker';

exposeModelWorker();
