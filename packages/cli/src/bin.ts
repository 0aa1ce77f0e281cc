#!/usr/bin/env node
import { Command } from 'commander';
import { registerCommands } from './commands/index.js';
import { errorReport, FAILURE_EXIT_CODE } from './error-report.js';

const program = new Command('vitkit')
  .description('Vision transformers from Hugging Face checkpoints, on onnxruntime.')
  .option('--verbose', 'on an error, also print its stack trace')
  .showHelpAfterError();
registerCommands(program);

/** Users get `vitkit: <message> [CODE]` and exit 2 for any error, the stack trace only with --verbose. */
function fail(error: unknown): never {
  // Read argv too: the error may come before commander has parsed the options.
  const end = process.argv.indexOf('--');
  const verbose = program.opts().verbose === true || process.argv.slice(2, end < 0 ? undefined : end).includes('--verbose');
  process.stderr.write(errorReport(error, verbose));
  process.exit(FAILURE_EXIT_CODE);
}

// Errors outside the awaited chain (a stream's or a timer's) end the command the same way.
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  fail(error);
}
