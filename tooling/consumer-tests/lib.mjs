// Helpers for the consumer tests and `pnpm check:packages`: packing the workspace packages the way
// `pnpm publish` would, fresh projects outside the workspace, child processes with time limits, and
// a static file server on 127.0.0.1. Plain Node ESM, no dependencies.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const FIXTURE = join(ROOT, 'fixtures/dinov2/default-res');
export const APP = fileURLToPath(new URL('./app/', import.meta.url));
/** The onnxruntime version the workspace tests run on; consumers install the same from the npm registry. */
export const ORT_VERSION = '1.30.0';
export const IN_CI = process.env.CI === 'true' || process.env.CI === '1';

export function log(...args) {
  console.log(`[${new Date().toISOString().slice(11, 19)}]`, ...args);
}

/** Environment for commands run in a consumer project: no workspace paths, npm quiet. */
export function consumerEnv(extra = {}) {
  const env = { ...process.env };
  for (const k of Object.keys(env)) {
    // pnpm sets npm_config_* and npm_package_* for the scripts it runs; none of that is a consumer's.
    if (/^npm_|^NODE_PATH$|^NODE_OPTIONS$|^PNPM_|^pnpm_/i.test(k)) delete env[k];
  }
  return {
    ...env,
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    // onnxruntime-node's install script would fetch CUDA binaries from a feed we never reach; the
    // CPU (and WebGPU) providers ship inside its tarball. This is the switch its README documents.
    ONNXRUNTIME_NODE_INSTALL: 'skip',
    ...extra,
  };
}

/**
 * Runs a command, its output streamed with a prefix; rejects on a non-zero exit or after
 * `timeoutMs` (the whole process group is killed, so nothing outlives the test).
 */
export function run(cmd, args, { cwd = ROOT, env = process.env, timeoutMs = 300_000, capture = false, quiet = false } = {}) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    const onData = (stream) => (chunk) => {
      const text = chunk.toString();
      if (capture) out += text;
      if (!quiet) stream.write(text.replace(/^(?=.)/gm, '    '));
    };
    child.stdout.on('data', onData(process.stdout));
    child.stderr.on('data', onData(process.stderr));
    const timer = setTimeout(() => {
      killGroup(child);
      reject(new Error(`${cmd} ${args.join(' ')} timed out after ${timeoutMs / 1000}s`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolvePromise(out);
      else reject(Object.assign(new Error(`${cmd} ${args.join(' ')} exited with ${code ?? signal} (in ${cwd})`), { output: out }));
    });
  });
}

/** Starts a long-running child (a server) in its own process group; `stop()` ends that group. */
export function startProcess(cmd, args, { cwd, env = process.env, logPrefix = '    ' } = {}) {
  const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  for (const s of [child.stdout, child.stderr]) {
    s.on('data', (c) => {
      output += c.toString();
      if (process.env.VITKIT_CONSUMER_VERBOSE) process.stdout.write(c.toString().replace(/^(?=.)/gm, logPrefix));
    });
  }
  return {
    child,
    output: () => output,
    stop: () =>
      new Promise((r) => {
        if (child.exitCode !== null || child.signalCode !== null) return r();
        child.once('close', () => r());
        killGroup(child);
      }),
  };
}

function killGroup(child) {
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    try {
      child.kill('SIGKILL');
    } catch {}
  }
}

/** The publishable workspace packages (packages/*, not private), with their folders. */
export function workspacePackages() {
  const dir = join(ROOT, 'packages');
  return readdirSync(dir)
    .filter((name) => existsSync(join(dir, name, 'package.json')))
    .map((name) => ({ dir: join(dir, name), json: JSON.parse(readFileSync(join(dir, name, 'package.json'), 'utf8')) }))
    .filter((p) => !p.json.private)
    .map((p) => ({ name: p.json.name, version: p.json.version, dir: p.dir, json: p.json }));
}

/** `pnpm build` (turbo; cached when nothing changed). */
export async function buildAll() {
  log('pnpm build');
  await run('pnpm', ['build'], { timeoutMs: 600_000, quiet: true });
}

/**
 * `pnpm pack` of every publishable package into `dest`, as `pnpm publish` would upload it
 * (`workspace:` ranges replaced by versions, only the `files` list). Returns name -> tarball path.
 */
export async function packAll(dest) {
  mkdirSync(dest, { recursive: true });
  const tarballs = {};
  for (const pkg of workspacePackages()) {
    if (!existsSync(join(pkg.dir, 'dist'))) throw new Error(`${pkg.name} has no dist/: run pnpm build first`);
    await run('pnpm', ['pack', '--pack-destination', dest], { cwd: pkg.dir, quiet: true, timeoutMs: 120_000 });
    const file = join(dest, `${pkg.name.replace(/^@/, '').replace('/', '-')}-${pkg.version}.tgz`);
    if (!existsSync(file)) throw new Error(`pnpm pack of ${pkg.name} did not write ${file}`);
    tarballs[pkg.name] = file;
  }
  log(`packed ${Object.keys(tarballs).length} packages into ${dest}`);
  return tarballs;
}

/**
 * A fresh folder in the OS temp dir, outside the workspace, with no node_modules above it that a
 * consumer could accidentally resolve from.
 */
export function freshDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), `vitkit-${prefix}-`));
  for (let d = dirname(dir); ; d = dirname(d)) {
    if (existsSync(join(d, 'node_modules')) || existsSync(join(d, 'package.json'))) {
      throw new Error(`${d} has a node_modules or package.json, which a consumer project in ${dir} would see; set TMPDIR elsewhere.`);
    }
    if (dirname(d) === d) break;
  }
  if (dir.startsWith(ROOT + sep)) throw new Error(`${dir} is inside the workspace`);
  return dir;
}

export function removeDir(dir) {
  if (process.env.VITKIT_CONSUMER_KEEP) {
    log(`kept ${dir} (VITKIT_CONSUMER_KEEP)`);
    return;
  }
  rmSync(dir, { recursive: true, force: true });
}

/** Copies the fixture checkpoint (config, weights, input, expected outputs) into `dest`. */
export function copyFixture(dest) {
  mkdirSync(dest, { recursive: true });
  for (const f of [
    'config.json',
    'preprocessor_config.json',
    'model.safetensors',
    'input.safetensors',
    'expected.safetensors',
    'case.json',
  ]) {
    cpSync(join(FIXTURE, f), join(dest, f));
  }
}

/** Copies the consumer app's files (check-dino.js and friends) into a project. */
export function copyApp(files, dest) {
  for (const f of files) cpSync(join(APP, f), join(dest, f));
}

export function writeJson(path, value) {
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

export function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** Checks a consumer run's JSON result line (printed as `RESULT {...}`) and returns it. */
export function parseResult(output) {
  const line = output
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error('the consumer printed no RESULT line');
  return JSON.parse(line.slice('RESULT '.length));
}

export function assertResult(result, where) {
  if (!result?.ok) throw new Error(`${where}: fixture check failed: ${JSON.stringify(result, null, 2)}`);
  log(
    `${where}: ${result.architecture}, ${result.compared.length} outputs, max |diff| ${result.maxAbs.toExponential(2)} <= atol ${result.atol}`,
  );
}

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.css': 'text/css',
  '.safetensors': 'application/octet-stream',
};

/** Serves `mounts` (URL prefix -> folder) from 127.0.0.1 on a free port. */
/**
 * A static server on 127.0.0.1. `crossOriginIsolated` sends COOP/COEP, as a page must for
 * SharedArrayBuffer (onnxruntime-web's wasm threads).
 */
export async function serveStatic(mounts, { crossOriginIsolated = false } = {}) {
  const isolation = crossOriginIsolated
    ? { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' }
    : {};
  const entries = Object.entries(mounts).sort((a, b) => b[0].length - a[0].length);
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    for (const [prefix, dir] of entries) {
      if (!path.startsWith(prefix)) continue;
      let file = normalize(join(dir, path.slice(prefix.length)));
      if (!file.startsWith(resolve(dir))) break;
      if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
      if (!existsSync(file)) break;
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store', ...isolation });
      res.end(readFileSync(file));
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}

/** A free TCP port on 127.0.0.1. */
export async function freePort() {
  const server = createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(() => r()));
  return port;
}

/** Wraps a test's main: prints its time, exits 1 on failure, always runs `cleanup`. */
export async function main(name, body) {
  const started = Date.now();
  const cleanups = [];
  try {
    await body((fn) => cleanups.push(fn));
    log(`PASS ${name} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
  } catch (e) {
    console.error(e?.output ? `${e.stack}` : e);
    log(`FAIL ${name} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
    process.exitCode = 1;
  } finally {
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (e) {
        console.error('cleanup:', e);
      }
    }
  }
}
