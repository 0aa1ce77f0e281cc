// The page's one status line (aria-live, so screen readers hear each step), its progress bar and
// the error box.
import { isVitkitError } from '@vitkit/core';
import type { LoadProgress, StepTimings } from './model-client.js';

const statusLine = () => document.getElementById('status')!;
const progressBar = () => document.getElementById('load-progress') as HTMLProgressElement;
const errorBox = () => document.getElementById('error')!;

export function announce(text: string): void {
  statusLine().textContent = text;
}

export function showError(error: unknown): void {
  const box = errorBox();
  const message = isVitkitError(error) ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error);
  box.textContent = message;
  box.hidden = false;
  announce('Failed. See the error below.');
  progressBar().value = 0;
  console.warn(error);
}

export function clearError(): void {
  errorBox().hidden = true;
  errorBox().textContent = '';
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(bytes < 1e7 ? 2 : 0)} MB`;
}

/** Shows one step of loading or running; an indeterminate bar where no byte count is known. */
export function showProgress(p: LoadProgress): void {
  const bar = progressBar();
  switch (p.phase) {
    case 'download':
      if (p.total) {
        bar.value = (p.loaded ?? 0) / p.total;
        announce(`Downloading ${p.file}: ${megabytes(p.loaded ?? 0)} of ${megabytes(p.total)}`);
      } else {
        bar.removeAttribute('value');
        announce(`Downloading ${p.file}: ${megabytes(p.loaded ?? 0)}`);
      }
      return;
    case 'weights':
      bar.removeAttribute('value');
      announce('Reading the checkpoint files…');
      return;
    case 'graph':
      bar.removeAttribute('value');
      announce('Building the ONNX graph…');
      return;
    case 'session':
      bar.removeAttribute('value');
      announce('Creating the onnxruntime session…');
      return;
    case 'run':
      bar.removeAttribute('value');
      announce('Running the model…');
      return;
  }
}

export function progressDone(text: string): void {
  progressBar().value = 1;
  announce(text);
}

const ms = (v: number) => `${v < 10 ? v.toFixed(1) : Math.round(v)} ms`;

/** "preprocess 3 ms · graph build 120 ms · session 450 ms · run 30 ms · total 610 ms". */
export function describeTimings(t: StepTimings): string {
  const parts: string[] = [];
  if (t.preprocessMs !== undefined) parts.push(`preprocess ${ms(t.preprocessMs)}`);
  if (t.graphMs) parts.push(`graph build ${ms(t.graphMs)}`);
  if (t.sessionMs) parts.push(`session create ${ms(t.sessionMs)}`);
  parts.push(`run ${ms(t.runMs)}`, `total ${ms(t.totalMs)}`);
  return parts.join(' · ');
}
