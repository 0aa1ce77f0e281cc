import type { Command } from 'commander';
import { registerBench } from './bench.js';
import { registerClassify } from './classify.js';
import { registerDetect } from './detect.js';
import { registerDino } from './dino.js';
import { registerDownload } from './download.js';
import { registerEvalCoco } from './eval-coco.js';
import { registerImageSets } from './image-sets.js';
import { registerPreprocess } from './preprocess.js';
import { registerQueue } from './queue.js';
import { registerRun } from './run.js';
import { registerSegment } from './segment.js';

/** Each command lives in its own file and registers itself here, one line each. */
const commands: ((program: Command) => void)[] = [
  registerDino,
  registerDownload,
  registerPreprocess,
  registerRun,
  registerBench,
  registerClassify,
  registerDetect,
  registerEvalCoco,
  registerSegment,
  registerImageSets,
  registerQueue,
];

export function registerCommands(program: Command): void {
  for (const register of commands) register(program);
}
