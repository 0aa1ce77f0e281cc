// One panel per task a loaded model offers: a Run button, the picture or list it produces, and the
// time each step took. Panels call the model only through the `ModelClient` they are given.
import { drawBoxes, drawPixels, maskOverlay, patchSimilarities, sampleImage, segmentColor, similarityOverlay } from './canvas-drawing.js';
import { element } from './dom-builder.js';
import { imageFromFile } from './image-sources.js';
import type { Detection, ModelClient, ModelTask, PatchFeatures, Pixels, Timed } from './model-client.js';
import { announce, clearError, describeTimings, progressDone, showError } from './page-status.js';

export interface TaskContext {
  client: ModelClient;
  /** The image chosen in section 2, if any. */
  image(): Pixels | undefined;
  /** Called after each successful run (the page then shows what the runtime settled on, e.g. wasm threads). */
  afterRun(): void;
}

interface Panel {
  root: HTMLElement;
  runButton: HTMLButtonElement;
  timings: HTMLElement;
}

/** Every run in the page goes one at a time: one model, one onnxruntime session at a time. */
let running = false;

function panel(id: string, title: string, description: string, runLabel: string): Panel {
  const runButton = element('button', { type: 'button', id: `${id}-run` }, runLabel);
  const timings = element('p', { class: 'timings', id: `${id}-timings`, 'aria-live': 'polite' });
  const root = element(
    'section',
    { class: 'task', id: `task-${id}`, 'aria-labelledby': `${id}-heading` },
    element('h3', { id: `${id}-heading` }, title),
    element('p', { class: 'hint' }, description),
    runButton,
    timings,
  );
  return { root, runButton, timings };
}

/** Runs `work` on the current image with the panel's button disabled; errors go to the page's error box. */
async function runTask<T>(ctx: TaskContext, p: Panel, label: string, work: (image: Pixels) => Promise<Timed<T>>): Promise<T | undefined> {
  const image = ctx.image();
  if (!image) {
    showError(new Error('Choose an image first (section 2).'));
    return undefined;
  }
  if (running) {
    announce('Another task is still running; wait for it to finish.');
    return undefined;
  }
  running = true;
  p.runButton.disabled = true;
  clearError();
  p.timings.textContent = '';
  announce(`${label}: running the model…`);
  try {
    const { value, timings } = await work(image);
    p.timings.textContent = describeTimings(timings);
    progressDone(`${label}: done in ${Math.round(timings.totalMs)} ms.`);
    ctx.afterRun();
    return value;
  } catch (error) {
    showError(error);
    return undefined;
  } finally {
    running = false;
    p.runButton.disabled = false;
  }
}

function canvas(id: string, label: string): HTMLCanvasElement {
  return element('canvas', { id, role: 'img', 'aria-label': label, width: '1', height: '1' });
}

function pcaPanel(ctx: TaskContext): HTMLElement {
  const p = panel(
    'pca',
    'PCA of patch features',
    'The first three principal components of the patch features, as red, green and blue.',
    'Run PCA',
  );
  const out = canvas('pca-canvas', 'PCA picture (not computed yet)');
  p.root.append(out);
  p.runButton.addEventListener('click', async () => {
    const picture = await runTask(ctx, p, 'PCA', (image) => ctx.client.pca(image));
    if (!picture) return;
    drawPixels(out, picture);
    out.setAttribute('aria-label', `PCA picture, ${picture.width} by ${picture.height} pixels`);
  });
  return p.root;
}

function attentionPanel(ctx: TaskContext): HTMLElement {
  const p = panel(
    'attention',
    'Attention heat map',
    "The last layer's attention from the CLS token to every patch, per head.",
    'Run attention',
  );
  const select = element('select', { id: 'attention-head', disabled: '' }, element('option', { value: '0' }, 'mean of all heads'));
  const out = canvas('attention-canvas', 'Attention heat map (not computed yet)');
  p.root.append(element('label', { for: 'attention-head' }, 'Head'), select, out);
  let overlays: Pixels[] = [];
  const show = () => {
    const i = Number(select.value);
    if (!overlays[i]) return;
    drawPixels(out, overlays[i]);
    out.setAttribute('aria-label', `Attention heat map, ${i === 0 ? 'mean of all heads' : `head ${i - 1}`}`);
  };
  select.addEventListener('change', show);
  p.runButton.addEventListener('click', async () => {
    const result = await runTask(ctx, p, 'Attention', (image) => ctx.client.attention(image));
    if (!result) return;
    overlays = result.overlays;
    select.replaceChildren(element('option', { value: '0' }, 'mean of all heads'));
    for (let h = 0; h < result.heads; h++) select.append(element('option', { value: String(h + 1) }, `head ${h}`));
    select.disabled = false;
    select.value = '0';
    show();
  });
  return p.root;
}

function patchSimilarityPanel(ctx: TaskContext): HTMLElement {
  const p = panel(
    'patch-similarity',
    'Patch similarity',
    'Click a patch (or focus the picture and move with the arrow keys) to see its cosine similarity to every other patch: red similar, blue opposite.',
    'Compute patch features',
  );
  const out = canvas('patch-canvas', 'Patch similarity map (not computed yet)');
  out.tabIndex = 0;
  const readout = element('p', { id: 'patch-readout', 'aria-live': 'polite' });
  p.root.append(out, readout);
  let features: PatchFeatures | undefined;
  let selected = 0;
  const show = () => {
    if (!features) return;
    const { gridH, gridW, dim, unitFeatures, view } = features;
    const sims = patchSimilarities(unitFeatures, gridH * gridW, dim, selected);
    drawPixels(out, similarityOverlay(view, sims, gridH, gridW, selected));
    let lo = 1;
    for (const v of sims) lo = Math.min(lo, v);
    const row = Math.floor(selected / gridW);
    const col = selected % gridW;
    const text = `Patch row ${row}, column ${col} of ${gridH}×${gridW}: cosine from ${lo.toFixed(3)} to 1.`;
    readout.textContent = text;
    out.setAttribute('aria-label', `Patch similarity map. ${text}`);
  };
  out.addEventListener('click', (event) => {
    if (!features) return;
    const rect = out.getBoundingClientRect();
    const col = Math.min(features.gridW - 1, Math.floor(((event.clientX - rect.left) / rect.width) * features.gridW));
    const row = Math.min(features.gridH - 1, Math.floor(((event.clientY - rect.top) / rect.height) * features.gridH));
    selected = row * features.gridW + col;
    show();
  });
  out.addEventListener('keydown', (event) => {
    if (!features) return;
    const { gridW, gridH } = features;
    let row = Math.floor(selected / gridW);
    let col = selected % gridW;
    if (event.key === 'ArrowLeft') col = Math.max(0, col - 1);
    else if (event.key === 'ArrowRight') col = Math.min(gridW - 1, col + 1);
    else if (event.key === 'ArrowUp') row = Math.max(0, row - 1);
    else if (event.key === 'ArrowDown') row = Math.min(gridH - 1, row + 1);
    else return;
    event.preventDefault();
    selected = row * gridW + col;
    show();
  });
  p.runButton.addEventListener('click', async () => {
    const result = await runTask(ctx, p, 'Patch features', (image) => ctx.client.patchFeatures(image));
    if (!result) return;
    features = result;
    // Start at the centre patch: usually on the object.
    selected = Math.floor(result.gridH / 2) * result.gridW + Math.floor(result.gridW / 2);
    show();
  });
  return p.root;
}

function imageSimilarityPanel(ctx: TaskContext): HTMLElement {
  const p = panel(
    'image-similarity',
    'Similarity between two images',
    "Cosine similarity of the two images' CLS embeddings (1: the same to the model).",
    'Compare',
  );
  const input = element('input', { id: 'second-image-input', type: 'file', accept: 'image/*' });
  const sample = element('button', { type: 'button', id: 'second-sample' }, 'Use the second sample picture');
  const preview = canvas('second-image-canvas', 'No second image yet');
  const result = element('output', { id: 'image-similarity-result', for: 'image-similarity-run' });
  p.root.insertBefore(
    element('div', {}, element('label', { for: 'second-image-input', class: 'file-label' }, 'Second image', input), sample, preview),
    p.runButton,
  );
  p.root.append(result);
  let second: Pixels | undefined;
  const setSecond = (pixels: Pixels) => {
    second = pixels;
    drawPixels(preview, pixels);
    preview.setAttribute('aria-label', `Second image, ${pixels.width} by ${pixels.height} pixels`);
  };
  // A Compare pressed while the chosen file still decodes waits for it rather than saying there is no second image.
  let decoding: Promise<void> | undefined;
  input.addEventListener('change', () => {
    const file = input.files?.[0];
    if (!file) return;
    const current = imageFromFile(file).then(
      (pixels) => {
        if (decoding === current) setSecond(pixels);
      },
      (error: unknown) => {
        if (decoding === current) showError(error);
      },
    );
    decoding = current;
  });
  sample.addEventListener('click', () => {
    decoding = undefined;
    setSecond(sampleImage(320, 240, 1));
  });
  p.runButton.addEventListener('click', async () => {
    await decoding;
    if (!second) {
      showError(new Error('Choose the second image first.'));
      return;
    }
    const b = second;
    const cos = await runTask(ctx, p, 'Image similarity', (image) => ctx.client.imageSimilarity(image, b));
    if (cos !== undefined) result.textContent = `cosine similarity: ${cos.toFixed(4)}`;
  });
  return p.root;
}

function classifyPanel(ctx: TaskContext): HTMLElement {
  const p = panel('classify', 'Classification', 'The five most likely classes, with their softmax probability.', 'Classify');
  const list = element('ol', { id: 'classify-results', 'aria-label': 'Top-5 classes' });
  p.root.append(list);
  p.runButton.addEventListener('click', async () => {
    const top = await runTask(ctx, p, 'Classification', (image) => ctx.client.classify(image, 5));
    if (!top) return;
    list.replaceChildren(...top.map((c) => element('li', {}, `${c.label}: ${(c.score * 100).toFixed(1)} %`)));
  });
  return p.root;
}

function detectionTable(id: string, detections: readonly Detection[]): HTMLElement {
  if (detections.length === 0) return element('p', { id }, 'No boxes above the threshold.');
  return element(
    'table',
    { id, class: 'results' },
    element('caption', {}, `${detections.length} box${detections.length === 1 ? '' : 'es'}`),
    element(
      'thead',
      {},
      element('tr', {}, element('th', {}, 'label'), element('th', {}, 'score'), element('th', {}, 'box (x0, y0, x1, y1)')),
    ),
    element(
      'tbody',
      {},
      ...detections.map((d) =>
        element(
          'tr',
          {},
          element('td', {}, d.label),
          element('td', {}, d.score.toFixed(3)),
          element('td', {}, d.box.map((v) => v.toFixed(0)).join(', ')),
        ),
      ),
    ),
  );
}

function slider(id: string, label: string, value: number): { wrap: HTMLElement; input: HTMLInputElement; value(): number } {
  const input = element('input', { id, type: 'range', min: '0', max: '1', step: '0.01', value: String(value) });
  const shown = element('output', { for: id }, value.toFixed(2));
  input.addEventListener('input', () => {
    shown.textContent = Number(input.value).toFixed(2);
  });
  return { wrap: element('div', {}, element('label', { for: id }, label), input, ' ', shown), input, value: () => Number(input.value) };
}

function detectPanel(ctx: TaskContext): HTMLElement {
  const p = panel('detect', 'Object detection', 'Boxes with their labels; the slider hides boxes scoring below it.', 'Detect');
  const threshold = slider('detect-threshold', 'Score threshold', 0.5);
  const out = canvas('detect-canvas', 'Detections (not computed yet)');
  const listHolder = element('div', { id: 'detect-list' });
  p.root.insertBefore(threshold.wrap, p.runButton);
  p.root.append(out, listHolder);
  let all: Detection[] = [];
  let shownOn: Pixels | undefined;
  const show = () => {
    if (!shownOn) return;
    const kept = all.filter((d) => d.score > threshold.value());
    drawBoxes(drawPixels(out, shownOn), kept);
    out.setAttribute('aria-label', `The image with ${kept.length} detection box${kept.length === 1 ? '' : 'es'}`);
    listHolder.replaceChildren(detectionTable('detect-results', kept));
  };
  threshold.input.addEventListener('input', show);
  p.runButton.addEventListener('click', async () => {
    let used: Pixels | undefined;
    // Everything above 0 once; the slider then filters without running the model again.
    const found = await runTask(ctx, p, 'Detection', (image) => {
      used = image;
      return ctx.client.detect(image, 0);
    });
    if (!found) return;
    all = [...found].sort((a, b) => b.score - a.score);
    shownOn = used;
    show();
  });
  return p.root;
}

function segmentPanel(ctx: TaskContext): HTMLElement {
  const p = panel(
    'segment',
    'Panoptic segmentation',
    "Each segment's mask over the image. The threshold is the query score a segment needs (transformers' default 0.9); changing it runs the post-processing again.",
    'Segment',
  );
  const threshold = slider('segment-threshold', 'Query score threshold', 0.9);
  const out = canvas('segment-canvas', 'Segmentation (not computed yet)');
  const legend = element('ul', { id: 'segment-results', 'aria-label': 'Segments' });
  p.root.insertBefore(threshold.wrap, p.runButton);
  p.root.append(out, legend);
  const run = async () => {
    let used: Pixels | undefined;
    const result = await runTask(ctx, p, 'Segmentation', (image) => {
      used = image;
      return ctx.client.segment(image, threshold.value());
    });
    if (!result || !used) return;
    drawPixels(out, maskOverlay(used, result.ids, result.width, result.height));
    out.setAttribute('aria-label', `The image with ${result.segments.length} segment mask${result.segments.length === 1 ? '' : 's'}`);
    legend.replaceChildren(
      ...(result.segments.length === 0
        ? [element('li', {}, 'No segment passed the threshold.')]
        : result.segments.map((s) => {
            const [r, g, b] = segmentColor(s.id);
            return element(
              'li',
              {},
              element('span', { style: `color: rgb(${r} ${g} ${b})`, 'aria-hidden': 'true' }, '■ '),
              `${s.label}${s.score !== undefined ? ` (${s.score.toFixed(3)})` : ''}: ${s.area} px`,
            );
          })),
    );
  };
  p.runButton.addEventListener('click', run);
  threshold.input.addEventListener('change', run);
  return p.root;
}

function groundedPanel(ctx: TaskContext): HTMLElement {
  const p = panel(
    'grounded',
    'Detection from a text prompt',
    'Name what to find, phrases separated by dots: "a cat. a remote control."',
    'Detect',
  );
  const prompt = element('input', { id: 'grounded-prompt', type: 'text', value: 'a cat. a remote control.' });
  const threshold = slider('grounded-threshold', 'Box threshold', 0.35);
  const textThreshold = slider('grounded-text-threshold', 'Text threshold', 0.25);
  const out = canvas('grounded-canvas', 'Detections (not computed yet)');
  const listHolder = element('div', { id: 'grounded-list' });
  p.root.insertBefore(
    element('div', {}, element('label', { for: 'grounded-prompt' }, 'Prompt'), prompt, threshold.wrap, textThreshold.wrap),
    p.runButton,
  );
  p.root.append(out, listHolder);
  p.runButton.addEventListener('click', async () => {
    let used: Pixels | undefined;
    const found = await runTask(ctx, p, 'Grounded detection', (image) => {
      used = image;
      return ctx.client.groundedDetect(image, prompt.value, threshold.value(), textThreshold.value());
    });
    if (!found || !used) return;
    const best = [...found].sort((a, b) => b.score - a.score);
    drawBoxes(drawPixels(out, used), best);
    listHolder.replaceChildren(detectionTable('grounded-results', best));
  });
  return p.root;
}

/** The panels for a model's tasks, in the order the page shows them. */
export function taskPanels(tasks: readonly ModelTask[], ctx: TaskContext): HTMLElement[] {
  const panels: HTMLElement[] = [];
  for (const task of tasks) {
    if (task === 'dino') panels.push(pcaPanel(ctx), attentionPanel(ctx), patchSimilarityPanel(ctx), imageSimilarityPanel(ctx));
    else if (task === 'classify') panels.push(classifyPanel(ctx));
    else if (task === 'detect') panels.push(detectPanel(ctx));
    else if (task === 'segment') panels.push(segmentPanel(ctx));
    else if (task === 'grounded-detect') panels.push(groundedPanel(ctx));
  }
  return panels;
}
