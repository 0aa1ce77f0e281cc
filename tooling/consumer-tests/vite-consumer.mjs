// Consumer test 2: a fresh Vite project that imports @vitkit/dino (from the packed tarballs), built
// with `vite build`, served from 127.0.0.1, opened in headless Chromium; the page builds DinoModel
// from the fixture checkpoint (served by the same server) on onnxruntime-web's wasm backend, and
// the test reads the comparison from the page. Also checks the bundle holds nothing Node-only.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import {
  assertResult,
  buildAll,
  consumerEnv,
  copyApp,
  copyFixture,
  freshDir,
  IN_CI,
  log,
  main,
  ORT_VERSION,
  packAll,
  readJson,
  removeDir,
  run,
  serveStatic,
  writeJson,
} from './lib.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const VITE_VERSION = '7.3.8';
const SHARP_VERSION = '0.35.5';
/** What must never be imported by a browser bundle (error messages may still name them). */
const NODE_ONLY =
  /(?:from\s*|import\s*\(\s*|require\s*\(\s*)["'](?:node:[\w/]+|fs|fs\/promises|path|os|crypto|sharp|onnxruntime-node|proper-lockfile)["']/;

await main('consumer test 2: Vite build in headless Chromium (wasm)', async (cleanup) => {
  if (!existsSync(CHROMIUM)) {
    if (IN_CI) throw new Error(`${CHROMIUM} is missing (apt install chromium), or set CHROMIUM_PATH`);
    log(`SKIP: no ${CHROMIUM}`);
    return;
  }
  if (!process.argv.includes('--no-build')) await buildAll();
  const work = freshDir('consumer-vite');
  cleanup(() => removeDir(work));
  const tarballs = await packAll(join(work, 'packs'));
  const project = join(work, 'project');
  mkdirSync(project);
  const env = consumerEnv();
  await run('npm', ['init', '-y'], { cwd: project, env, quiet: true });
  writeJson(join(project, 'package.json'), {
    ...readJson(join(project, 'package.json')),
    type: 'module',
    scripts: { build: 'vite build' },
  });
  // sharp is installed too, on purpose: it must still stay out of the bundle.
  log('npm install core + dino tarballs + onnxruntime-web + sharp, vite');
  await run(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      tarballs['@vitkit/core'],
      tarballs['@vitkit/dino'],
      `onnxruntime-web@${ORT_VERSION}`,
      `sharp@${SHARP_VERSION}`,
    ],
    { cwd: project, env, timeoutMs: 300_000 },
  );
  await run('npm', ['install', '--no-audit', '--no-fund', '--save-dev', `vite@${VITE_VERSION}`], { cwd: project, env, timeoutMs: 300_000 });
  copyApp(['check-dino.js', 'browser-main.js', 'index.html', 'vite.config.js'], project);
  // onnxruntime-web fetches its .wasm (and the matching .mjs loader) at run time: serve them at /ort/.
  const ortDist = join(project, 'node_modules/onnxruntime-web/dist');
  mkdirSync(join(project, 'public/ort'), { recursive: true });
  for (const f of readdirSync(ortDist).filter((f) => /^ort-wasm.*\.(wasm|mjs)$/.test(f)))
    cpSync(join(ortDist, f), join(project, 'public/ort', f));

  const buildLog = await run('npm', ['run', 'build'], { cwd: project, env, capture: true, timeoutMs: 180_000 });
  if (/externalized for browser compatibility/.test(buildLog))
    throw new Error('vite externalized a Node built-in: Node-only code reached the browser graph');
  const assets = join(project, 'dist/assets');
  for (const f of readdirSync(assets).filter((f) => f.endsWith('.js'))) {
    const text = readFileSync(join(assets, f), 'utf8');
    const hit = text.match(NODE_ONLY);
    if (hit) throw new Error(`dist/assets/${f} imports ${hit[0]}: Node-only code reached the browser bundle`);
    if (/@img\/sharp|sharp-libvips/.test(text)) throw new Error(`dist/assets/${f} contains sharp`);
  }
  log('bundle clean: no Node built-ins, sharp, onnxruntime-node or proper-lockfile');

  const fixture = join(work, 'fixture');
  copyFixture(fixture);
  // Cross-origin isolated, as a page that wants wasm threads is: vitkit's default then uses every core.
  const server = await serveStatic({ '/fixture/': fixture, '/': join(project, 'dist') }, { crossOriginIsolated: true });
  cleanup(() => server.close());
  const userDataDir = join(work, 'chromium-profile');
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--headless',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
    timeout: 60_000,
  });
  cleanup(() => context.close());
  const page = context.pages()[0] ?? (await context.newPage());
  const consoleLines = [];
  page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
  log(`open ${server.url}/ in headless Chromium`);
  await page.goto(`${server.url}/`);
  try {
    await page.waitForFunction(() => document.title === 'done', undefined, { timeout: 120_000 });
  } catch (e) {
    throw new Error(`the page never finished: ${e.message}\n${consoleLines.join('\n')}`);
  }
  const result = await page.evaluate(() => window.__VITKIT_RESULT__);
  if (!result?.ok) console.error(consoleLines.join('\n'));
  assertResult(result, 'browser (wasm)');
  if (!result.isolated || result.threads !== result.cores)
    throw new Error(
      `the isolated page ran onnxruntime-web's wasm on ${result.threads} thread(s) of ${result.cores} cores (crossOriginIsolated: ${result.isolated}); vitkit's default is every core`,
    );
  log(`wasm threads: ${result.threads} of ${result.cores} cores (cross-origin isolated)`);
});
