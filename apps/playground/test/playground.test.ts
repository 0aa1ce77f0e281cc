// The built playground (dist/, from `vite build`) in headless Chromium: each fixture checkpoint is
// loaded the way a user would (Hub id against a local Hub stand-in, URL, local folder), each task
// its family offers is run on an image, and the page must show a result: canvases with non-uniform
// pixels, boxes and top-5 listed, timings, no error box and no console errors.
// VITKIT_PLAYGROUND_SCREENSHOTS=1 also writes a screenshot of each task to docs/playground/.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HubRepo, type RunningServer, serveHub, servePlayground } from './fixture-servers.js';

const APP = fileURLToPath(new URL('..', import.meta.url));
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const DIST = join(APP, 'dist');
const FIXTURES = join(ROOT, 'fixtures');
const IMAGES = join(FIXTURES, 'preprocess/images');
const SCREENSHOTS = process.env.VITKIT_PLAYGROUND_SCREENSHOTS === '1' ? join(ROOT, 'docs/playground') : undefined;
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const IN_CI = process.env.CI === 'true' || process.env.CI === '1';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && IN_CI) throw new Error(`${CHROMIUM} is missing (apt install chromium), or set CHROMIUM_PATH`);

// DETR's processor resizes to a shortest edge of 800 (transformers' default, in these fixtures too):
// tens of seconds per run for wasm on 2 cores. The test repos resize to 160 instead, so the whole
// suite stays near a minute; the model and its weights are the fixture's.
const SMALL_DETR = { size: { shortest_edge: 160, longest_edge: 256 } };
const HUB_REPOS: Record<string, HubRepo> = {
  'vitkit-fixtures/dinov2-tiny': { dir: join(FIXTURES, 'dinov2/default-res') },
  'vitkit-fixtures/detr-tiny': { dir: join(FIXTURES, 'detr/resnet-basic'), processorOverrides: SMALL_DETR },
  'vitkit-fixtures/detr-panoptic-tiny': { dir: join(FIXTURES, 'detr_panoptic/resnet-basic'), processorOverrides: SMALL_DETR },
  'vitkit-fixtures/deit-tiny-with-teacher': { dir: join(FIXTURES, 'deit/with-teacher') },
};
const URL_MODELS = {
  'swin-classification': join(FIXTURES, 'swin/classification'),
  'dinov3-tiny': join(FIXTURES, 'dinov3/default-res'),
  'dino-v1-tiny': join(FIXTURES, 'vit/dino-attentions'),
  'dinov2-registers-tiny': join(FIXTURES, 'dinov2_with_registers/registers'),
  'grounding-dino-tiny': join(FIXTURES, 'grounding_dino/swin-bert-tiny'),
};

let app: RunningServer;
let hub: RunningServer;
let browser: Browser;
let context: BrowserContext;

/** Console errors and uncaught exceptions of a page; each test asserts there were none. */
const problems = new WeakMap<Page, string[]>();
/** URLs a page got a 404 for. Chromium logs each as a console error without its URL. */
const notFound = new WeakMap<Page, string[]>();
const NOT_FOUND_LOG = 'console.error: Failed to load resource: the server responded with a status of 404 (Not Found)';

async function openPlayground(query = ''): Promise<Page> {
  const page = await context.newPage();
  const seen: string[] = [];
  problems.set(page, seen);
  const missing: string[] = [];
  notFound.set(page, missing);
  page.on('response', (r) => {
    if (r.status() === 404) missing.push(new URL(r.url()).pathname);
  });
  page.on('console', (m) => {
    if (m.type() === 'error') seen.push(`console.error: ${m.text()}`);
  });
  page.on('pageerror', (e) => seen.push(`pageerror: ${e.message}`));
  page.setDefaultTimeout(60_000);
  await page.goto(`${app.url}/${query}`);
  await page.waitForSelector('body[data-ready="true"]');
  // Every text the status line shows, to check the progress steps the user saw.
  await page.evaluate(() => {
    const status = document.getElementById('status')!;
    const seen: string[] = [];
    (window as unknown as { statusTexts: string[] }).statusTexts = seen;
    new MutationObserver(() => seen.push(status.textContent ?? '')).observe(status, {
      childList: true,
      characterData: true,
      subtree: true,
    });
  });
  return page;
}

async function expectHealthy(page: Page): Promise<void> {
  const error = page.locator('#error');
  if (await error.isVisible()) throw new Error(`the page shows an error: ${await error.textContent()}`);
  // The 404s a healthy page may get: optional files a checkpoint may lack (processor configs, tokenizer.json).
  const missing = notFound.get(page) ?? [];
  expect(missing.filter((path) => !/\/(preprocessor_config|processor_config|tokenizer)\.json$/.test(path))).toEqual([]);
  expect(problems.get(page)!.filter((p) => p !== NOT_FOUND_LOG)).toEqual([]);
  // (A worker's 404s are not logged to the page's console.)
  expect(problems.get(page)!.filter((p) => p === NOT_FOUND_LOG).length).toBeLessThanOrEqual(missing.length);
}

async function loadFromHub(page: Page, repo: string): Promise<void> {
  await page.getByLabel('Hugging Face Hub id').check();
  await page.getByLabel('Hub id', { exact: true }).fill(repo);
  await page.locator('summary', { hasText: 'Hub endpoint' }).click();
  await page.getByLabel('Endpoint').fill(hub.url);
  await submitLoad(page);
}

async function submitLoad(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Load model' }).click();
  await page.waitForFunction(
    () => !document.querySelector<HTMLElement>('#model-info')!.hidden || !document.querySelector<HTMLElement>('#error')!.hidden,
  );
  await expectHealthy(page);
}

async function useImageFile(page: Page, file: string): Promise<void> {
  await page.getByLabel('Open an image').setInputFiles(join(IMAGES, file));
  await expect.poll(() => page.locator('#status').textContent()).toContain('Image ready');
}

/** Runs a task by its button and waits for the panel's timings line (written when the run ends). */
async function runTask(page: Page, id: string, buttonName: string): Promise<string> {
  await page.locator(`#task-${id}`).getByRole('button', { name: buttonName }).click();
  await page.waitForFunction(
    (timingsId) => document.getElementById(timingsId)!.textContent !== '' || !document.querySelector<HTMLElement>('#error')!.hidden,
    `${id}-timings`,
    { timeout: 90_000 },
  );
  await expectHealthy(page);
  const timings = (await page.locator(`#${id}-timings`).textContent()) ?? '';
  console.log(`${id}: ${timings}`);
  return timings;
}

function statusTexts(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { statusTexts: string[] }).statusTexts);
}

/** Hands the page `file` as a user's paste (target 'paste') or drop on an element (a CSS selector) would. */
async function handOver(page: Page, target: 'paste' | string, files: { name: string; type: string; base64: string }[]): Promise<void> {
  await page.evaluate(
    ({ target, files }) => {
      const transfer = new DataTransfer();
      for (const f of files) {
        const bytes = Uint8Array.from(atob(f.base64), (c) => c.charCodeAt(0));
        transfer.items.add(new File([bytes], f.name, { type: f.type }));
      }
      if (target === 'paste') document.dispatchEvent(new ClipboardEvent('paste', { clipboardData: transfer, bubbles: true }));
      else
        document.querySelector(target)!.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    },
    { target, files },
  );
}

function fileFor(dir: string, name: string, type: string) {
  return { name, type, base64: readFileSync(join(dir, name)).toString('base64') };
}

/** How many distinct RGB colours the canvas holds (1 for a blank or uniform one). */
function distinctColours(page: Page, canvasId: string): Promise<number> {
  return page.evaluate((id) => {
    const canvas = document.getElementById(id) as HTMLCanvasElement;
    const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    const seen = new Set<number>();
    for (let i = 0; i < data.length; i += 4) seen.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
    return seen.size;
  }, canvasId);
}

/** A digest of the canvas's RGBA bytes (FNV-1a), computed in the page: equal pictures, equal digests. */
function canvasPixels(page: Page, canvasId: string): Promise<string> {
  return page.evaluate((id) => {
    const canvas = document.getElementById(id) as HTMLCanvasElement;
    const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    let hash = 0x811c9dc5;
    for (let i = 0; i < data.length; i++) hash = Math.imul(hash ^ data[i], 0x01000193) >>> 0;
    return `${canvas.width}x${canvas.height}:${hash.toString(16)}`;
  }, canvasId);
}

async function screenshot(page: Page, selector: string, name: string): Promise<void> {
  if (!SCREENSHOTS) return;
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.locator(selector).screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
}

describe.skipIf(!haveChromium)('the playground in Chromium', () => {
  beforeAll(async () => {
    if (!existsSync(join(DIST, 'index.html'))) throw new Error(`${DIST} has no build: run \`vite build\` first (the test script does).`);
    app = await servePlayground(DIST, URL_MODELS);
    hub = await serveHub(HUB_REPOS);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      // --enable-unsafe-webgpu: Linux Chromium's WebGPU (SwiftShader's Vulkan where there is no GPU; vitest.shared sets VK_ICD_FILENAMES).
      args: [
        '--enable-unsafe-webgpu',
        // A fake camera that needs no permission prompt, for the capture test.
        '--use-fake-device-for-media-stream',
        '--use-fake-ui-for-media-stream',
        '--no-sandbox',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
      timeout: 60_000,
    });
    context = await browser.newContext({ viewport: { width: 1200, height: 900 }, deviceScaleFactor: 1 });
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await app?.close();
    await hub?.close();
  });

  it('DINOv2 from a Hub id: PCA, attention per head, click-a-patch similarity, two-image similarity', async () => {
    const page = await openPlayground();
    await loadFromHub(page, 'vitkit-fixtures/dinov2-tiny');
    await expect.poll(() => page.locator('#model-info').textContent()).toContain('Dinov2Model');
    // The page fetched the weights through the Hub's LFS redirect.
    expect(hub.requests).toContain('/cdn/vitkit-fixtures/dinov2-tiny/model.safetensors');
    await useImageFile(page, 'cats.jpg');

    const first = await runTask(page, 'pca', 'Run PCA');
    // The worker builds the first session during load, at the processor's size, and times both steps.
    expect(await page.locator('#first-session-value').textContent()).toMatch(/^56×56: graph build \d+ ms · session create \d+ ms$/);
    expect(first).toMatch(/^run [\d.]+ ms · total [\d.]+ ms$/);
    const steps = await statusTexts(page);
    for (const step of [
      /^Downloading config\.json/,
      /^Downloading model\.safetensors: [\d.]+ MB of 0\.\d+ MB$/,
      /^Building the ONNX graph/,
      /^Creating the onnxruntime session/,
      /^PCA: running the model…$/,
    ]) {
      expect(
        steps.some((t) => step.test(t)),
        `status line never showed ${step}: ${JSON.stringify(steps)}`,
      ).toBe(true);
    }
    expect(await distinctColours(page, 'pca-canvas')).toBeGreaterThan(3);
    expect(await page.locator('#backend-value').textContent()).toBe('wasm fp32, in a Web Worker');
    await screenshot(page, '#task-pca', 'dino-pca');

    await runTask(page, 'attention', 'Run attention');
    expect(await distinctColours(page, 'attention-canvas')).toBeGreaterThan(50);
    const mean = await canvasPixels(page, 'attention-canvas');
    const heads = await page.locator('#attention-head option').count();
    expect(heads).toBe(1 + 2); // mean + the fixture's 2 heads
    await page.getByLabel('Head', { exact: true }).selectOption({ label: 'head 1' });
    expect(await canvasPixels(page, 'attention-canvas')).not.toEqual(mean);
    await screenshot(page, '#task-attention', 'dino-attention');

    await runTask(page, 'patch-similarity', 'Compute patch features');
    expect(await distinctColours(page, 'patch-canvas')).toBeGreaterThan(10);
    const centre = await page.locator('#patch-readout').textContent();
    expect(centre).toMatch(/^Patch row 2, column 2 of 4×4: cosine from -?[\d.]+ to 1\.$/);
    const before = await canvasPixels(page, 'patch-canvas');
    await page.locator('#patch-canvas').click({ position: { x: 5, y: 5 } });
    expect(await page.locator('#patch-readout').textContent()).toMatch(/^Patch row 0, column 0 of 4×4/);
    expect(await canvasPixels(page, 'patch-canvas')).not.toEqual(before);
    // Keyboard: the map is focusable and arrow keys move the selected patch.
    await page.locator('#patch-canvas').focus();
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowDown');
    expect(await page.locator('#patch-readout').textContent()).toMatch(/^Patch row 1, column 1 of 4×4/);
    await screenshot(page, '#task-patch-similarity', 'dino-patch-similarity');

    await page.getByLabel('Second image', { exact: true }).setInputFiles(join(IMAGES, 'cats.jpg'));
    // Compare pressed at once: the page waits for the file's decode (a race that once read "Choose the second image first").
    await runTask(page, 'image-similarity', 'Compare');
    expect(await page.locator('#second-image-canvas').getAttribute('aria-label')).toMatch(/^Second image, \d+ by \d+ pixels$/);
    // The same picture twice: cosine 1 (up to float error).
    const same = Number((await page.locator('#image-similarity-result').textContent())!.split(': ')[1]);
    expect(same).toBeCloseTo(1, 3);
    await page.getByRole('button', { name: 'Use the second sample picture' }).click();
    await runTask(page, 'image-similarity', 'Compare');
    const different = Number((await page.locator('#image-similarity-result').textContent())!.split(': ')[1]);
    expect(different).toBeGreaterThanOrEqual(-1);
    expect(different).toBeLessThan(0.9999);
    await screenshot(page, '#task-image-similarity', 'dino-image-similarity');
    await screenshot(page, 'main', 'overview');
    await expectHealthy(page);
    await page.close();
  });

  it('classification top-5: Swin by URL (a pasted image), DeiT from dropped files (a camera picture), DINOv2 from a folder', async () => {
    const page = await openPlayground();
    await page.getByLabel('URL of a checkpoint folder').check();
    await page.getByLabel('Folder URL').fill(`${app.url}/models/swin-classification/`);
    await submitLoad(page);
    expect(await page.locator('#model-info').textContent()).toContain('SwinForImageClassification');
    // The image pasted, as from the clipboard.
    await handOver(page, 'paste', [fileFor(IMAGES, 'cats.png', 'image/png')]);
    await expect.poll(() => page.locator('#status').textContent()).toBe('Image ready: cats.png (640×480).');
    await runTask(page, 'classify', 'Classify');
    // The fixture has 4 labels: all 4 listed, best first, probabilities summing to 100 %.
    const swin = await page.locator('#classify-results li').allTextContents();
    expect(swin).toHaveLength(4);
    const scores = swin.map((s) => Number(s.match(/: ([\d.]+) %$/)![1]));
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    expect(scores.reduce((a, b) => a + b, 0)).toBeCloseTo(100, 0);
    await screenshot(page, '#task-classify', 'classify-top5');

    // The checkpoint's files dropped on the page, the image from the (fake) camera.
    await page.getByLabel('A folder on this computer').check();
    const deit = join(FIXTURES, 'deit/with-teacher');
    await handOver(page, '#checkpoint-drop', [
      fileFor(deit, 'config.json', 'application/json'),
      fileFor(deit, 'preprocessor_config.json', 'application/json'),
      fileFor(deit, 'model.safetensors', ''),
    ]);
    await expect
      .poll(() => page.locator('#checkpoint-files').textContent())
      .toBe('dropped files: 3 files (config.json, preprocessor_config.json, model.safetensors)');
    await submitLoad(page);
    expect(await page.locator('#model-info').textContent()).toContain('DeiTForImageClassificationWithTeacher');
    await page.getByRole('button', { name: 'Use the camera' }).click();
    await page.getByRole('button', { name: 'Take the picture' }).click();
    await expect.poll(() => page.locator('#status').textContent()).toMatch(/^Image ready: camera picture \(\d+×\d+\)\.$/);
    expect(await distinctColours(page, 'image-preview')).toBeGreaterThan(10);
    await runTask(page, 'classify', 'Classify');
    expect((await page.locator('#classify-results li').count()) > 0).toBe(true);

    // A folder on this computer, through <input webkitdirectory>.
    await page.getByLabel('…or pick its files').setInputFiles(join(FIXTURES, 'dinov2/classification'));
    await expect.poll(() => page.locator('#checkpoint-files').textContent()).toContain('config.json');
    await submitLoad(page);
    expect(await page.locator('#model-info').textContent()).toContain('Dinov2ForImageClassification');
    await runTask(page, 'classify', 'Classify');
    expect(await page.locator('#classify-results li').count()).toBe(5);
    await expectHealthy(page);
    await page.close();
  });

  it('DETR boxes with labels and a threshold slider', async () => {
    const page = await openPlayground();
    await loadFromHub(page, 'vitkit-fixtures/detr-tiny');
    expect(await page.locator('#model-info').textContent()).toContain('DetrForObjectDetection');
    await useImageFile(page, 'cats.jpg');
    const setThreshold = (v: number) =>
      page.locator('#detect-threshold').evaluate((el, value) => {
        const input = el as HTMLInputElement;
        input.value = String(value);
        input.dispatchEvent(new Event('input', { bubbles: true }));
      }, v);
    await setThreshold(0);
    await runTask(page, 'detect', 'Detect');
    // Threshold 0: every query's box (the fixture has 10 queries).
    expect(await page.locator('#detect-results tbody tr').count()).toBe(10);
    const rows = await page.locator('#detect-results tbody tr').allTextContents();
    expect(rows[0]).toMatch(/^\S+0\.\d{3}\d+, \d+, \d+, \d+$/);
    const image = await canvasPixels(page, 'image-preview');
    expect(await canvasPixels(page, 'detect-canvas')).not.toEqual(image); // boxes drawn over it
    await screenshot(page, '#task-detect', 'detr-boxes');
    // Above every score: no boxes, and the canvas is the image alone again.
    await setThreshold(1);
    expect(await page.locator('#detect-list').textContent()).toBe('No boxes above the threshold.');
    expect(await canvasPixels(page, 'detect-canvas')).toEqual(image);
    await expectHealthy(page);
    await page.close();
  });

  it('DETR panoptic segmentation: mask overlay and segments listed', async () => {
    const page = await openPlayground();
    await loadFromHub(page, 'vitkit-fixtures/detr-panoptic-tiny');
    expect(await page.locator('#model-info').textContent()).toContain('DetrForSegmentation');
    expect(await page.locator('#task-detect').count()).toBe(1); // a segmentation checkpoint also detects
    await useImageFile(page, 'cats.jpg');
    // 'input' (what dragging sends) updates the shown value; the run below uses it.
    await page.locator('#segment-threshold').evaluate((el) => {
      (el as HTMLInputElement).value = '0';
      el.dispatchEvent(new Event('input', { bubbles: true }));
    });
    expect(await page.locator('output[for="segment-threshold"]').textContent()).toBe('0.00');
    await runTask(page, 'segment', 'Segment');
    const segments = await page.locator('#segment-results li').allTextContents();
    expect(segments.length).toBeGreaterThan(0);
    expect(segments[0]).toMatch(/: \d+ px$/);
    expect(await canvasPixels(page, 'segment-canvas')).not.toEqual(await canvasPixels(page, 'image-preview'));
    await screenshot(page, '#task-segment', 'detr-segmentation');
    await expectHealthy(page);
    await page.close();
  });

  it('DINOv3 (no preprocessor_config.json), DINO v1 and DINOv2 with registers by URL: the DINO tasks', async () => {
    const page = await openPlayground();
    await page.getByRole('button', { name: 'Use a sample picture' }).click();
    for (const [name, architecture, heads] of [
      ['dinov3-tiny', 'DINOv3ViTModel', 2],
      ['dino-v1-tiny', 'ViTModel', 3],
      ['dinov2-registers-tiny', 'Dinov2WithRegistersModel', 2],
    ] as const) {
      await page.getByLabel('URL of a checkpoint folder').check();
      await page.getByLabel('Folder URL').fill(`${app.url}/models/${name}/`);
      await submitLoad(page);
      expect(await page.locator('#class-value').textContent()).toBe(architecture);
      await runTask(page, 'pca', 'Run PCA');
      expect(await distinctColours(page, 'pca-canvas')).toBeGreaterThan(3);
      await runTask(page, 'attention', 'Run attention');
      expect(await page.locator('#attention-head option').count()).toBe(1 + heads);
      expect(await distinctColours(page, 'attention-canvas')).toBeGreaterThan(10);
    }
    await expectHealthy(page);
    await page.close();
  });

  it('a second page load takes the compiled graph from the browser cache', async () => {
    // dinov2-tiny at its processor size was built (and cached) by the first test; a fresh page
    // of the same origin finds it in the Cache API and builds no graph.
    const page = await openPlayground();
    await loadFromHub(page, 'vitkit-fixtures/dinov2-tiny');
    expect(await page.locator('#first-session-value').textContent()).toMatch(
      /^56×56: graph from the browser cache · session create \d+ ms$/,
    );
    const steps = await statusTexts(page);
    expect(steps.some((t) => t.startsWith('Building the ONNX graph'))).toBe(false);
    await page.getByRole('button', { name: 'Use a sample picture' }).click();
    await runTask(page, 'pca', 'Run PCA');
    expect(await distinctColours(page, 'pca-canvas')).toBeGreaterThan(3);
    await expectHealthy(page);
    await page.close();
  });

  it('the main-thread client (?client=main): graph and session built at the first run, every core used', async () => {
    const page = await openPlayground('?client=main');
    await loadFromHub(page, 'vitkit-fixtures/deit-tiny-with-teacher');
    expect(await page.locator('#first-session-value').count()).toBe(0);
    await page.getByRole('button', { name: 'Use a sample picture' }).click();
    const first = await runTask(page, 'classify', 'Classify');
    expect(first).toMatch(/^preprocess [\d.]+ ms · graph build [\d.]+ ms · session create [\d.]+ ms · run [\d.]+ ms · total [\d.]+ ms$/);
    expect(await page.locator('#classify-results li').count()).toBe(5);
    const again = await runTask(page, 'classify', 'Classify');
    expect(again).toMatch(/^preprocess [\d.]+ ms · run [\d.]+ ms · total [\d.]+ ms$/);
    // The page is cross-origin isolated, so vitkit's default gives onnxruntime-web every core.
    const cores = await page.evaluate(() => navigator.hardwareConcurrency);
    expect(await page.locator('#backend-value').textContent()).toBe(`wasm fp32, ${cores} thread${cores === 1 ? '' : 's'}`);
    await expectHealthy(page);
    await page.close();
  });

  it('Grounding DINO (in the worker): a prompt box, boxes listed', async () => {
    const page = await openPlayground();
    await page.getByLabel('URL of a checkpoint folder').check();
    await page.getByLabel('Folder URL').fill(`${app.url}/models/grounding-dino-tiny/`);
    await submitLoad(page);
    expect(await page.locator('#class-value').textContent()).toBe('GroundingDinoForObjectDetection');
    await useImageFile(page, 'cats.jpg');
    await page.getByRole('textbox', { name: 'Prompt' }).fill('a cat. a remote control.');
    for (const id of ['grounded-threshold', 'grounded-text-threshold']) {
      await page.locator(`#${id}`).evaluate((el) => {
        (el as HTMLInputElement).value = '0';
        el.dispatchEvent(new Event('input', { bubbles: true }));
      });
    }
    await runTask(page, 'grounded', 'Detect');
    // Threshold 0: a box for every query (random weights: the labels are whatever tokens won).
    const rows = await page.locator('#grounded-results tbody tr').count();
    expect(rows).toBeGreaterThan(0);
    expect(await canvasPixels(page, 'grounded-canvas')).not.toEqual(await canvasPixels(page, 'image-preview'));
    await screenshot(page, '#task-grounded', 'grounding-dino-prompt');
    await expectHealthy(page);
    await page.close();
  });

  it('from the keyboard: every control is labelled, Enter loads, a missing repo is an error the page states', async () => {
    const page = await openPlayground();
    const unnamed = await page.evaluate(() =>
      [...document.querySelectorAll<HTMLElement>('button, input, select, canvas[tabindex]')]
        .filter((el) => !el.hidden && el.getAttribute('type') !== 'hidden')
        .filter((el) => {
          const labelled = (el as HTMLInputElement).labels?.length || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
          return !labelled && !(el.tagName === 'BUTTON' && el.textContent?.trim());
        })
        .map((el) => el.outerHTML.slice(0, 80)),
    );
    expect(unnamed).toEqual([]);
    await page.locator('summary', { hasText: 'Hub endpoint' }).click();
    await page.getByLabel('Endpoint').fill(hub.url);
    await page.getByLabel('Hub id', { exact: true }).fill('vitkit-fixtures/no-such-model');
    await page.getByLabel('Hub id', { exact: true }).press('Enter');
    await expect
      .poll(() => page.locator('#error').textContent())
      .toMatch(/^HUB_NOT_FOUND: .*no config\.json in vitkit-fixtures\/no-such-model/);
    expect(await page.getByRole('alert').isVisible()).toBe(true);
    await page.getByLabel('Hub id', { exact: true }).fill('vitkit-fixtures/dinov2-tiny');
    await page.getByLabel('Hub id', { exact: true }).press('Enter');
    await expect.poll(() => page.locator('#model-info').isVisible(), { timeout: 30_000 }).toBe(true);
    expect(await page.locator('#error').isVisible()).toBe(false);
    await page.close();
  });

  it('WebGPU fp32: PCA runs on the WebGPU adapter when there is one', async () => {
    const page = await openPlayground();
    const support = (await page.locator('#gpu-support').textContent()) ?? '';
    await page.getByLabel('WebGPU').check();
    await loadFromHub(page, 'vitkit-fixtures/dinov2-tiny');
    const info = (await page.locator('#model-info').textContent()) ?? '';
    if (/no adapter/.test(support)) {
      expect(info).toMatch(/wasm fp32.*no WebGPU adapter/);
      return;
    }
    expect(info).toContain('webgpu fp32');
    await page.getByRole('button', { name: 'Use a sample picture' }).click();
    await runTask(page, 'pca', 'Run PCA');
    expect(await distinctColours(page, 'pca-canvas')).toBeGreaterThan(3);
    await expectHealthy(page);
    await page.close();
  });

  it('WebGPU fp16 asked for: runs there, or falls back to wasm and says why', async () => {
    const page = await openPlayground();
    await page.getByLabel('WebGPU').check();
    await page.getByLabel('Precision').selectOption('fp16');
    await loadFromHub(page, 'vitkit-fixtures/dinov2-tiny');
    const info = (await page.locator('#model-info').textContent()) ?? '';
    const support = (await page.locator('#gpu-support').textContent()) ?? '';
    if (/no adapter/.test(support)) expect(info).toMatch(/wasm fp32.*no WebGPU adapter/);
    else if (/without shader-f16/.test(support)) expect(info).toMatch(/wasm fp32.*lacks shader-f16/);
    else expect(info).toContain('webgpu fp16');
    await expectHealthy(page);
    await page.close();
  });
});
