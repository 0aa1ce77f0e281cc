import { statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runPeakMemory } from './peak-memory.js';

const DINOV2 = fileURLToPath(new URL('../../../../fixtures/dinov2/default-res', import.meta.url));

describe('peak memory', () => {
  it('loads, makes a session and runs once, reporting the peaks after each step against the weights', async () => {
    const steps: string[] = [];
    const r = await runPeakMemory({ model: DINOV2, name: 'dinov2-fixture', size: [28, 42], onProgress: (s) => steps.push(s) });
    expect(r).toMatchObject({ model: 'dinov2-fixture', architecture: 'Dinov2Model', backend: 'cpu', dtype: 'fp32', height: 28, width: 42 });
    expect(steps).toHaveLength(3);
    // The weights from the headers: the file less its header, as MiB.
    const file = statSync(join(DINOV2, 'model.safetensors')).size;
    expect(r.weightsMb).toBeGreaterThan(0);
    expect(r.weightsMb * 2 ** 20).toBeLessThanOrEqual(file);
    // A peak never falls, and each is above where the process was when it began.
    expect(r.loadedPeakMb).toBeGreaterThanOrEqual(r.startMb);
    expect(r.sessionPeakMb).toBeGreaterThanOrEqual(r.loadedPeakMb);
    expect(r.runPeakMb).toBeGreaterThanOrEqual(r.sessionPeakMb);
    // A fixture weighs kilobytes, so its copies are the runtime's overhead over them: only their sign is meaningful here.
    expect(r.copies).toBeGreaterThan(0);
  });
});
