import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const LOADER = new URL('./source-loader.mjs', import.meta.url).href;
const BIN = fileURLToPath(new URL('../bin.ts', import.meta.url));

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `vitkit <args>` from the sources in a child Node process (see source-loader.mjs) and
 * returns its exit code and output, as a user's shell would see them.
 */
export function runSourceCli(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<CliRun> {
  const register = `data:text/javascript,import{register}from'node:module';register(${JSON.stringify(LOADER)});`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', register, BIN, ...args], { env, timeout: 120_000 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') return reject(error);
      resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
    });
  });
}
