import { describe, expect, it } from 'vitest';
import { pageWasmThreads } from './load-onnxruntime-web.js';

describe('pageWasmThreads', () => {
  it('uses every core a cross-origin-isolated page may use, and one thread elsewhere (no SharedArrayBuffer)', () => {
    expect(pageWasmThreads({ crossOriginIsolated: true, navigator: { hardwareConcurrency: 2 } })).toBe(2);
    expect(pageWasmThreads({ crossOriginIsolated: true, navigator: { hardwareConcurrency: 12 } })).toBe(12);
    expect(pageWasmThreads({ crossOriginIsolated: false, navigator: { hardwareConcurrency: 12 } })).toBe(1);
    expect(pageWasmThreads({ navigator: { hardwareConcurrency: 12 } })).toBe(1);
    expect(pageWasmThreads({ crossOriginIsolated: true })).toBe(1);
    expect(pageWasmThreads({ crossOriginIsolated: true, navigator: { hardwareConcurrency: 0 } })).toBe(1);
  });
});
