import type { Command } from 'commander';

/** Each command lives in its own file and registers itself here, one line each. */
const commands: ((program: Command) => void)[] = [];

export function registerCommands(program: Command): void {
  for (const register of commands) register(program);
}
