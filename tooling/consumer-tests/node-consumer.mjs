// Consumer test 1: the packed tarballs of @vitkit/core + @vitkit/dino, `npm install`ed into a fresh
// npm project outside the workspace (with onnxruntime-node from the npm registry), build DinoModel
// from the fixture checkpoint and match expected.safetensors within the case's atol.
import { join } from 'node:path';
import {
  assertResult,
  buildAll,
  consumerEnv,
  copyApp,
  copyFixture,
  freshDir,
  log,
  main,
  ORT_VERSION,
  packAll,
  parseResult,
  readJson,
  removeDir,
  run,
  writeJson,
} from './lib.mjs';

await main('consumer test 1: npm install of the tarballs, Node', async (cleanup) => {
  if (!process.argv.includes('--no-build')) await buildAll();
  const work = freshDir('consumer-node');
  cleanup(() => removeDir(work));
  const tarballs = await packAll(join(work, 'packs'));
  const project = join(work, 'project');
  const env = consumerEnv();
  await run('mkdir', ['-p', project]);
  await run('npm', ['init', '-y'], { cwd: project, env, quiet: true });
  const pkg = readJson(join(project, 'package.json'));
  writeJson(join(project, 'package.json'), { ...pkg, type: 'module' });
  log('npm install core + dino tarballs + onnxruntime-node');
  await run(
    'npm',
    ['install', '--no-audit', '--no-fund', tarballs['@vitkit/core'], tarballs['@vitkit/dino'], `onnxruntime-node@${ORT_VERSION}`],
    {
      cwd: project,
      env,
      timeoutMs: 300_000,
    },
  );
  copyApp(['check-dino.js', 'node-main.mjs'], project);
  copyFixture(join(project, 'fixture'));
  const output = await run('node', ['node-main.mjs', join(project, 'fixture')], { cwd: project, env, capture: true, timeoutMs: 120_000 });
  assertResult(parseResult(output), 'node (cpu)');
});
