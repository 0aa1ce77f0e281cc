// Consumer test 3: a real local registry. Verdaccio on 127.0.0.1 (storage in a temp folder; the
// @vitkit scope is never proxied to the public registry, other packages are), `changeset version`
// + `changeset publish` from a temporary copy of the repo (with a temporary changeset, so the repo
// itself never gets a version bump), then a fresh npm project installs @vitkit/dino by name from
// that registry and runs the fixture on cpu. Nothing is published anywhere else.
import { cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  assertResult,
  buildAll,
  consumerEnv,
  copyApp,
  copyFixture,
  freePort,
  freshDir,
  log,
  main,
  ORT_VERSION,
  parseResult,
  ROOT,
  readJson,
  removeDir,
  run,
  startProcess,
  workspacePackages,
  writeJson,
} from './lib.mjs';

const VERDACCIO_VERSION = '6.8.0';
/** A token the registry never checks (`publish: $all` for the scope); npm and pnpm refuse to publish without one. */
const DUMMY_TOKEN = 'vitkit-consumer-test-dummy-token';

/**
 * Verdaccio 6.8.0 in a tools folder under the OS temp dir, installed once with npm and reused.
 * 6.10 wants Node 22; 6.8.0 runs on Node 20 once node-fetch is pinned to 2.7.0.
 */
async function installVerdaccio() {
  const dir = join(tmpdir(), 'vitkit-consumer-tools', `verdaccio-${VERDACCIO_VERSION}`);
  const bin = join(dir, 'node_modules/verdaccio/bin/verdaccio');
  if (existsSync(bin) && existsSync(join(dir, '.complete'))) return bin;
  log(`installing verdaccio ${VERDACCIO_VERSION} into ${dir}`);
  const staging = `${dir}.partial-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  writeJson(join(staging, 'package.json'), {
    name: 'vitkit-verdaccio-tool',
    private: true,
    dependencies: { verdaccio: VERDACCIO_VERSION },
    overrides: { 'node-fetch': '2.7.0' },
  });
  await run('npm', ['install', '--no-audit', '--no-fund', '--omit=dev'], {
    cwd: staging,
    env: consumerEnv(),
    timeoutMs: 300_000,
    quiet: true,
  });
  writeFileSync(join(staging, '.complete'), '');
  rmSync(dir, { recursive: true, force: true });
  renameSync(staging, dir);
  return bin;
}

function verdaccioConfig(storage, port) {
  return `# Written by tooling/consumer-tests/registry-consumer.mjs
storage: ${storage}
auth:
  htpasswd:
    file: ${storage}/htpasswd
    max_users: -1
uplinks:
  npmjs:
    url: https://registry.npmjs.org/
    timeout: 60s
packages:
  '@vitkit/*':
    # no proxy: @vitkit packages come only from what was published here
    access: $all
    publish: $all
    unpublish: $all
  '**':
    access: $all
    publish: $authenticated
    proxy: npmjs
listen: 127.0.0.1:${port}
log: { type: stdout, format: pretty, level: warn }
publish:
  allow_offline: true
`;
}

/** The part of the repo `changeset version` / `changeset publish` read, built packages included. */
function copyRepo(dest) {
  mkdirSync(dest, { recursive: true });
  for (const f of ['package.json', 'pnpm-workspace.yaml', 'pnpm-lock.yaml'])
    if (existsSync(join(ROOT, f))) cpSync(join(ROOT, f), join(dest, f));
  cpSync(join(ROOT, '.changeset'), join(dest, '.changeset'), { recursive: true });
  for (const pkg of workspacePackages()) {
    const to = join(dest, 'packages', pkg.dir.split('/').pop());
    mkdirSync(to, { recursive: true });
    cpSync(join(pkg.dir, 'package.json'), join(to, 'package.json'));
    for (const f of ['README.md', 'LICENSE', 'dist'])
      if (existsSync(join(pkg.dir, f))) cpSync(join(pkg.dir, f), join(to, f), { recursive: true });
  }
  // Private workspace packages (the bench) only need their package.json for changesets to see them.
  for (const group of ['packages', 'apps']) {
    if (!existsSync(join(ROOT, group))) continue;
    for (const name of readdirSync(join(ROOT, group))) {
      const json = join(ROOT, group, name, 'package.json');
      const to = join(dest, group, name);
      if (existsSync(json) && !existsSync(join(to, 'package.json'))) {
        mkdirSync(to, { recursive: true });
        cpSync(json, join(to, 'package.json'));
      }
    }
  }
}

await main('consumer test 3: changeset publish to a local Verdaccio, npm install by name', async (cleanup) => {
  if (!process.argv.includes('--no-build')) await buildAll();
  const work = freshDir('consumer-registry');
  cleanup(() => removeDir(work));
  const verdaccio = await installVerdaccio();

  const port = await freePort();
  const registry = `http://127.0.0.1:${port}/`;
  const storage = join(work, 'storage');
  mkdirSync(storage);
  writeFileSync(join(work, 'verdaccio.yaml'), verdaccioConfig(storage, port));
  const server = startProcess('node', [verdaccio, '--config', join(work, 'verdaccio.yaml')], { cwd: work, env: consumerEnv() });
  cleanup(() => server.stop());
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      if ((await fetch(`${registry}-/ping`)).ok) break;
    } catch {}
    if (Date.now() > deadline || server.child.exitCode !== null) throw new Error(`verdaccio did not start:\n${server.output()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  log(`verdaccio ${VERDACCIO_VERSION} on ${registry}`);

  // Registry settings for every npm/pnpm below: only 127.0.0.1, a dummy token, nothing else.
  const npmrc = join(work, 'npmrc');
  writeFileSync(npmrc, `registry=${registry}\n//127.0.0.1:${port}/:_authToken=${DUMMY_TOKEN}\n`);
  const env = consumerEnv({ NPM_CONFIG_REGISTRY: registry, npm_config_registry: registry, npm_config_userconfig: npmrc });

  const repo = join(work, 'repo');
  copyRepo(repo);
  cpSync(npmrc, join(repo, '.npmrc'));
  // changesets refuses an `ignore` entry naming a package that is not there (the private bench in a
  // checkout without apps/): drop such entries in the copy; they would publish nothing anyway.
  const configPath = join(repo, '.changeset/config.json');
  const config = readJson(configPath);
  const present = new Set(
    ['packages', 'apps'].flatMap((g) =>
      existsSync(join(repo, g))
        ? readdirSync(join(repo, g))
            .map((n) => join(repo, g, n, 'package.json'))
            .filter(existsSync)
            .map((f) => readJson(f).name)
        : [],
    ),
  );
  writeJson(configPath, { ...config, ignore: (config.ignore ?? []).filter((name) => present.has(name)) });
  await run('git', ['init', '-q', '-b', 'main'], { cwd: repo, quiet: true });
  writeFileSync(
    join(repo, '.changeset', 'consumer-test-release.md'),
    '---\n"@vitkit/dino": minor\n---\n\nConsumer test release (temporary copy of the repo only).\n',
  );
  const changeset = join(ROOT, 'node_modules/.bin/changeset');
  log('changeset version (temporary copy)');
  await run(changeset, ['version'], { cwd: repo, env, timeoutMs: 120_000 });
  const version = readJson(join(repo, 'packages/dino/package.json')).version;
  const coreVersion = readJson(join(repo, 'packages/core/package.json')).version;
  if (version !== coreVersion) throw new Error(`fixed group broken: dino ${version}, core ${coreVersion}`);
  const git = (args) => run('git', ['-c', 'user.name=vitkit', '-c', 'user.email=vitkit@localhost', ...args], { cwd: repo, quiet: true });
  await git(['add', '-A']);
  await git(['commit', '-q', '-m', `release ${version}`]);
  log(`changeset publish ${version} to ${registry}`);
  await run(changeset, ['publish', '--no-git-tag'], { cwd: repo, env, timeoutMs: 300_000 });

  for (const pkg of workspacePackages()) {
    const meta = await (await fetch(`${registry}${pkg.name.replace('/', '%2f')}`)).json();
    if (!meta.versions?.[version])
      throw new Error(`${pkg.name}@${version} is not in the local registry: ${JSON.stringify(meta).slice(0, 300)}`);
  }
  log(`all ${workspacePackages().length} packages are in the local registry at ${version}`);

  const project = join(work, 'project');
  mkdirSync(project);
  await run('npm', ['init', '-y'], { cwd: project, env, quiet: true });
  writeJson(join(project, 'package.json'), { ...readJson(join(project, 'package.json')), type: 'module' });
  writeFileSync(join(project, '.npmrc'), `registry=${registry}\n`);
  log(`npm install @vitkit/dino@${version} onnxruntime-node from ${registry}`);
  await run('npm', ['install', '--no-audit', '--no-fund', `@vitkit/dino@${version}`, `onnxruntime-node@${ORT_VERSION}`], {
    cwd: project,
    env,
    timeoutMs: 420_000,
  });
  for (const name of ['@vitkit/dino', '@vitkit/core']) {
    const installed = readJson(join(project, 'node_modules', name, 'package.json')).version;
    if (installed !== version) throw new Error(`${name} installed at ${installed}, expected ${version} from the local registry`);
  }
  copyApp(['check-dino.js', 'node-main.mjs'], project);
  copyFixture(join(project, 'fixture'));
  const output = await run('node', ['node-main.mjs', join(project, 'fixture')], { cwd: project, env, capture: true, timeoutMs: 120_000 });
  assertResult(parseResult(output), `registry install @${version} (cpu)`);
});
