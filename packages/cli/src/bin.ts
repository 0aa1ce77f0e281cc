#!/usr/bin/env node
import { isVitkitError } from '@vitkit/core';
import { Command } from 'commander';
import { registerCommands } from './commands/index.js';

const program = new Command('vitkit')
  .description('Vision transformers from Hugging Face checkpoints, on onnxruntime.')
  .showHelpAfterError();
registerCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  // Users get the typed error's message and code, not a stack trace.
  if (isVitkitError(error)) {
    process.stderr.write(`vitkit: ${error.message} [${error.code}]\n`);
    process.exit(2);
  }
  throw error;
}
