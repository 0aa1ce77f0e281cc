// The playground page: pick a checkpoint and a backend, load it, pick an image, run the tasks its
// family offers. Model calls go through `createModelClient` (model-client.ts) only.
import { chooseBackend, type GpuSupport, probeGpu } from './backend-choice.js';
import { drawPixels, sampleImage } from './canvas-drawing.js';
import { checkpointFilesFromDrop, checkpointFilesFromPicker, hasDirectoryPicker } from './checkpoint-picking.js';
import { element } from './dom-builder.js';
import { Camera, firstImageFile, imageFromFile } from './image-sources.js';
import type { CheckpointRef, ModelInfo, Pixels, PlaygroundDevice, PlaygroundDtype } from './model-client.js';
import { createModelClient } from './model-client-choice.js';
import { announce, clearError, progressDone, showError, showProgress } from './page-status.js';
import { taskPanels } from './task-panels.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

const client = createModelClient();
let currentImage: Pixels | undefined;
let localFiles: File[] = [];
let localLabel = '';
let gpu: GpuSupport = { adapter: false, shaderF16: false };

const form = $<HTMLFormElement>('load-form');
const sourceKind = () => (form.elements.namedItem('source') as RadioNodeList).value as CheckpointRef['kind'];

function showSourceFields(): void {
  for (const div of document.querySelectorAll<HTMLElement>('.source-fields')) div.hidden = div.dataset.source !== sourceKind();
}
for (const radio of document.querySelectorAll<HTMLInputElement>('input[name="source"]')) radio.addEventListener('change', showSourceFields);
showSourceFields();

function setLocalFiles(files: File[], label: string): void {
  localFiles = files;
  localLabel = label;
  const names = files.map((f) => f.name.slice(f.name.lastIndexOf('/') + 1));
  $('checkpoint-files').textContent =
    files.length === 0 ? 'No files chosen.' : `${label}: ${files.length} file${files.length === 1 ? '' : 's'} (${names.join(', ')})`;
}

// Local folders: the File System Access picker where the browser has it, else <input webkitdirectory>.
const pickFolder = $<HTMLButtonElement>('pick-folder');
if (!hasDirectoryPicker()) pickFolder.hidden = true;
pickFolder.addEventListener('click', async () => {
  try {
    const picked = await checkpointFilesFromPicker();
    if (picked) setLocalFiles(picked.files, picked.label);
  } catch (error) {
    showError(error);
  }
});
const folderInput = $<HTMLInputElement>('folder-input');
folderInput.addEventListener('change', () => {
  const files = [...(folderInput.files ?? [])];
  const first = files[0] as (File & { webkitRelativePath?: string }) | undefined;
  const folder = first?.webkitRelativePath?.split('/')[0] || 'picked files';
  setLocalFiles(files, folder);
});
const checkpointDrop = $('checkpoint-drop');
dropTarget(checkpointDrop, async (transfer) => {
  const dropped = await checkpointFilesFromDrop(transfer);
  setLocalFiles(dropped.files, dropped.label);
});

function dropTarget(zone: HTMLElement, onDrop: (transfer: DataTransfer) => Promise<void>): void {
  zone.addEventListener('dragover', (event) => {
    event.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    zone.classList.remove('over');
    if (event.dataTransfer) onDrop(event.dataTransfer).catch(showError);
  });
}

function checkpointRef(): CheckpointRef {
  const kind = sourceKind();
  if (kind === 'files') {
    if (localFiles.length === 0) throw new Error('Choose the checkpoint folder (or drop its files) first.');
    return { kind, files: localFiles, label: localLabel };
  }
  if (kind === 'url') {
    const url = $<HTMLInputElement>('model-url').value.trim();
    if (!url) throw new Error('Enter the URL of a checkpoint folder.');
    return { kind, url };
  }
  const id = $<HTMLInputElement>('hub-id').value.trim();
  if (!id) throw new Error('Enter a Hub id such as facebook/dinov2-small.');
  return {
    kind,
    id,
    endpoint: $<HTMLInputElement>('hub-endpoint').value.trim() || undefined,
    revision: $<HTMLInputElement>('hub-revision').value.trim() || undefined,
  };
}

/** "wasm fp32, 2 threads", "webgpu fp32, in a Web Worker". */
function backendText(info: ModelInfo): string {
  const detail = client.runtimeDetail(info.device);
  return `${info.device} ${info.dtype}${detail ? `, ${detail}` : ''}`;
}

let loadedInfo: ModelInfo | undefined;

function refreshBackend(): void {
  const row = document.getElementById('backend-value');
  if (row && loadedInfo) row.textContent = backendText(loadedInfo);
}

function showModelInfo(info: ModelInfo, note: string | undefined): void {
  const dl = $('model-info');
  loadedInfo = info;
  const rows: [string, string][] = [
    ['checkpoint', info.source],
    ['class', info.architecture],
    ['family', info.family],
    ['backend', backendText(info)],
    ['files and start-up', `${Math.round(info.filesMs)} ms`],
  ];
  if (info.weightBytes !== undefined) rows.splice(4, 0, ['weights', `${(info.weightBytes / 1e6).toFixed(2)} MB`]);
  if (info.load) {
    const [h, w] = info.load.inputSize;
    const graph = info.load.graphMs === undefined ? 'graph from the browser cache' : `graph build ${Math.round(info.load.graphMs)} ms`;
    rows.push(['first session', `${w}×${h}: ${graph} · session create ${Math.round(info.load.sessionMs)} ms`]);
  }
  if (note) rows.push(['note', note]);
  dl.replaceChildren(...rows.flatMap(([k, v]) => [element('dt', {}, k), element('dd', { id: `${k.replace(/\W+/g, '-')}-value` }, v)]));
  dl.hidden = false;
}

function showTasks(info: ModelInfo): void {
  const holder = $('task-panels');
  const panels = taskPanels(info.tasks, { client, image: () => currentImage, afterRun: refreshBackend });
  holder.replaceChildren(...panels);
  const summary =
    panels.length === 0
      ? `${info.architecture} loaded, but the playground has no task for it yet.`
      : `${info.architecture}: ${panels.length} task${panels.length === 1 ? '' : 's'}.`;
  $('tasks-empty').textContent = info.hint ? `${summary} ${info.hint}` : summary;
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  clearError();
  const button = $<HTMLButtonElement>('load-button');
  button.disabled = true;
  try {
    const requested = (form.elements.namedItem('device') as RadioNodeList).value as PlaygroundDevice;
    const dtype = $<HTMLSelectElement>('dtype').value as PlaygroundDtype;
    const choice = chooseBackend(requested, dtype, gpu);
    if (choice.note) announce(choice.note);
    const ref = checkpointRef();
    $('task-panels').replaceChildren();
    $('model-info').hidden = true;
    const info = await client.load(ref, { device: choice.device, dtype: choice.dtype }, showProgress);
    showModelInfo(info, choice.note);
    showTasks(info);
    const firstSession = info.load ? 'Its first session is ready.' : 'Its graph is built on the first run.';
    progressDone(`Loaded ${info.architecture} on ${info.device}${choice.note ? ` (${choice.note})` : ''}. ${firstSession}`);
  } catch (error) {
    showError(error);
  } finally {
    button.disabled = false;
  }
});

// The input image.
const preview = $<HTMLCanvasElement>('image-preview');
function setImage(pixels: Pixels, what: string): void {
  currentImage = pixels;
  drawPixels(preview, pixels);
  preview.setAttribute('aria-label', `${what}, ${pixels.width} by ${pixels.height} pixels`);
  announce(`Image ready: ${what} (${pixels.width}×${pixels.height}).`);
}
async function setImageFile(file: File | undefined): Promise<void> {
  if (!file) return;
  clearError();
  try {
    setImage(await imageFromFile(file), file.name || 'pasted image');
  } catch (error) {
    showError(error);
  }
}
const imageInput = $<HTMLInputElement>('image-input');
imageInput.addEventListener('change', () => setImageFile(imageInput.files?.[0]));
dropTarget($('image-drop'), async (transfer) => setImageFile(firstImageFile(transfer.files)));
document.addEventListener('paste', (event) => {
  const file = firstImageFile(event.clipboardData?.files);
  if (file) {
    event.preventDefault();
    setImageFile(file);
  }
});
$('sample-image').addEventListener('click', () => setImage(sampleImage(), 'sample picture'));

const camera = new Camera($<HTMLVideoElement>('camera'));
const captureButton = $<HTMLButtonElement>('camera-capture');
$('camera-start').addEventListener('click', async () => {
  clearError();
  try {
    await camera.start();
    captureButton.hidden = false;
    captureButton.focus();
  } catch (error) {
    showError(error);
  }
});
captureButton.addEventListener('click', () => {
  try {
    setImage(camera.capture(), 'camera picture');
  } catch (error) {
    showError(error);
  } finally {
    captureButton.hidden = true;
  }
});

// What this browser's WebGPU offers, shown before anyone picks it.
probeGpu().then((support) => {
  gpu = support;
  $('gpu-support').textContent = support.adapter
    ? `WebGPU: adapter found${support.shaderF16 ? ', with shader-f16' : ', without shader-f16 (fp16 falls back to wasm fp32)'}.`
    : 'WebGPU: no adapter here; a WebGPU choice runs on wasm.';
  document.body.dataset.ready = 'true';
});
