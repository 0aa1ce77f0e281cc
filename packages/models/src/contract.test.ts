import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  isVitkitError,
  loadPretrained,
  type ModelInputs,
  type PretrainedFiles,
  Tensor,
  type VisionModel,
  type VitkitError,
} from '@vitkit/core';
import {
  compareArrays,
  editCheckpoint,
  type FixtureCase,
  fixturePath,
  listModelCases,
  readFixtureTensors,
  testDevices,
} from '@vitkit/test-support';
import { afterAll, describe, expect, it } from 'vitest';
import { AutoModel } from './auto-model.js';
import { FAMILIES } from './registry.js';

// The family contract, as timm runs one suite over list_models(): every registered family, every
// fixture case whose case.json model_class it builds. A family gets all of it by registering.

const ALL_CASES = listModelCases();
const workDir = mkdtempSync(join(tmpdir(), 'vitkit-contract-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

/** The case's inputs the model declares (input.safetensors may hold more, e.g. labels). */
function declaredInputs(model: VisionModel, c: FixtureCase): ModelInputs {
  const names = new Set(model.inputSpecs.map((s) => s.name));
  return Object.fromEntries([...c.inputs].filter(([name]) => names.has(name)));
}

function expectOutputsMatch(outputs: Record<string, Tensor>, c: FixtureCase, what: string): void {
  for (const [name, expected] of c.expected) {
    const actual = outputs[name];
    expect(actual, `${what}: output ${name}`).toBeDefined();
    expect(actual.shape, `${what}: shape of ${name}`).toEqual(expected.shape);
    const cmp = compareArrays(actual.data as Float32Array, expected.data as Float32Array, c.atol, c.rtol);
    if (process.env.VITKIT_REPORT_ERRORS) console.log(`[max-error] ${what} ${c.id} ${name} ${cmp.maxAbs.toExponential(2)}`);
    expect(cmp.ok, `${what}: ${name}: max |diff| ${cmp.maxAbs.toExponential(2)} exceeds atol ${c.atol} + rtol ${c.rtol}`).toBe(true);
  }
}

async function runCase(c: FixtureCase, files: PretrainedFiles, options: Parameters<typeof AutoModel.fromFiles>[1]) {
  const model = AutoModel.fromFiles(files, options);
  try {
    expect(model.architecture).toBe(c.modelClass);
    return await model.run(declaredInputs(model, c), {
      outputHiddenStates: c.outputHiddenStates,
      outputAttentions: c.outputAttentions,
    });
  } finally {
    await model.dispose();
  }
}

/** The checkpoint's biggest 2-D weight: a Linear every family reads (never an optional one). */
function largestMatrix(files: PretrainedFiles): string {
  let best = '';
  let size = -1;
  for (const key of files.weights.keys()) {
    const shape = files.weights.shapeOf(key);
    const n = shape.reduce((a, b) => a * b, 1);
    if (shape.length === 2 && key.endsWith('.weight') && n > size) [best, size] = [key, n];
  }
  return best;
}

/** The VitkitError building `files` into a graph throws (creation, then the graph at the case's size), or undefined. */
function buildError(files: PretrainedFiles, c: FixtureCase): VitkitError | undefined {
  const [, , h, w] = c.inputs.get('pixel_values')?.shape ?? [];
  try {
    AutoModel.fromFiles(files, { device: 'cpu' }).graphFor(h, w);
    return undefined;
  } catch (e) {
    if (!isVitkitError(e)) throw new Error(`expected a VitkitError, got ${(e as Error)?.stack ?? e}`);
    return e;
  }
}

describe('the registry', () => {
  it('lists each class and model_type once, each model_type meaning one of its own classes', () => {
    const classes = FAMILIES.flatMap((f) => f.architectures);
    expect(new Set(classes).size).toBe(classes.length);
    for (const f of FAMILIES) {
      expect(f.packageName).toBe(`@vitkit/${f.name}`);
      for (const cls of Object.values(f.modelTypes)) expect(f.architectures).toContain(cls);
    }
  });

  it('has a family for every fixture case (a fixture without one is a family not registered)', () => {
    expect(ALL_CASES.length).toBeGreaterThan(0);
    const known = new Set(FAMILIES.flatMap((f) => f.architectures));
    expect(ALL_CASES.filter((c) => !known.has(c.modelClass)).map((c) => c.id)).toEqual([]);
  });
});

describe.each(FAMILIES.map((f) => [f.name, f] as const))('family %s', (_name, family) => {
  const cases = ALL_CASES.filter((c) => family.architectures.includes(c.modelClass));
  /** One case per class: webgpu parity, the graph cache and the bad-input cases run on these. */
  const perClass = [...new Map(cases.map((c) => [c.modelClass, c])).values()];

  it('has fixture cases', () => expect(cases.length).toBeGreaterThan(0));

  describe.each(testDevices())('parity on %s', (device) => {
    const list = device === 'webgpu' ? perClass : cases;
    it.each(list.map((c) => [c.id, c] as const))('%s', async (_id, c) => {
      const outputs = await runCase(c, await loadPretrained(fixturePath(c.id)), { device });
      expectOutputsMatch(outputs, c, device);
    });
  });

  it.each(perClass.map((c) => [c.id, c] as const))('%s: the compiled-graph cache round trip (cpu)', async (_id, c) => {
    const cache = mkdtempSync(join(workDir, 'cache-'));
    const load = async () => AutoModel.fromFiles(await loadPretrained(fixturePath(c.id)), { device: 'cpu', optimizedModelCache: cache });
    const [, , h, w] = c.inputs.get('pixel_values')!.shape;
    const first = await load();
    const built = await first.warmup(h, w, { outputHiddenStates: c.outputHiddenStates, outputAttentions: c.outputAttentions });
    await first.dispose();
    expect(built.fromCache).toBe(false);
    const second = await load();
    try {
      const again = await second.warmup(h, w, { outputHiddenStates: c.outputHiddenStates, outputAttentions: c.outputAttentions });
      expect(again.fromCache).toBe(true);
      const outputs = await second.run(declaredInputs(second, c), {
        outputHiddenStates: c.outputHiddenStates,
        outputAttentions: c.outputAttentions,
      });
      expectOutputsMatch(outputs, c, 'cached');
    } finally {
      await second.dispose();
    }
  });

  it.each(cases.map((c) => [c.id, c] as const))("%s: the declared state dict is the checkpoint's", async (_id, c) => {
    const files = await loadPretrained(fixturePath(c.id));
    const declared = Object.fromEntries([...family.stateDictSpec(files.config)].map(([k, s]) => [k, s.shape]));
    const actual = Object.fromEntries(files.weights.keys().map((k) => [k, [...files.weights.shapeOf(k)]]));
    expect(declared).toEqual(actual);
  });

  describe.each(perClass.map((c) => [c.id, c] as const))('bad input: %s', (_id, c) => {
    it('a missing tensor is WEIGHTS_MISSING_TENSOR, naming it, before onnxruntime sees a graph', async () => {
      const files = await loadPretrained(fixturePath(c.id));
      const key = largestMatrix(files);
      const error = buildError(editCheckpoint(files, { weights: (t) => t.delete(key) }), c);
      expect(error?.code).toBe('WEIGHTS_MISSING_TENSOR');
      expect(error?.message).toContain(key.split('.').slice(-3).join('.'));
    });

    it('a misshapen tensor is WEIGHTS_SHAPE_MISMATCH, naming it, before onnxruntime sees a graph', async () => {
      const files = await loadPretrained(fixturePath(c.id));
      const key = largestMatrix(files);
      const [out, inp] = files.weights.shapeOf(key);
      const error = buildError(editCheckpoint(files, { weights: (t) => t.set(key, Tensor.zeros('float32', [out, inp + 1])) }), c);
      expect(error?.code).toBe('WEIGHTS_SHAPE_MISMATCH');
      expect(error?.message).toContain(key.split('.').slice(-3).join('.'));
    });

    it('truncated weights are WEIGHTS_TRUNCATED', async () => {
      const dir = mkdtempSync(join(workDir, 'truncated-'));
      copyFileSync(fixturePath(`${c.id}/config.json`), join(dir, 'config.json'));
      const bytes = readFileSync(fixturePath(`${c.id}/model.safetensors`));
      writeFileSync(join(dir, 'model.safetensors'), bytes.subarray(0, bytes.length - 64));
      let code: string | undefined;
      try {
        // The header is read at load and the data at first use: either may find the file short.
        code = buildError(await loadPretrained(dir), c)?.code;
      } catch (e) {
        code = isVitkitError(e) ? e.code : String(e);
      }
      expect(code).toBe('WEIGHTS_TRUNCATED');
    });

    it('config.json without a key the model needs is CONFIG_MISSING_KEY; no key removed gives anything but a VitkitError', async () => {
      const files = await loadPretrained(fixturePath(c.id));
      const codes = new Set<string>();
      for (const key of Object.keys(files.config)) {
        const error = buildError(editCheckpoint(files, { config: (cfg) => delete cfg[key] }), c);
        if (error) codes.add(error.code);
      }
      expect(codes).toContain('CONFIG_MISSING_KEY');
    });

    it('inputs of the wrong shape, missing or unknown are typed errors', async () => {
      const model = AutoModel.fromFiles(await loadPretrained(fixturePath(c.id)), { device: 'cpu' });
      const pixels = c.inputs.get('pixel_values')!;
      const inputs = declaredInputs(model, c);
      const codeOf = async (feeds: ModelInputs) => {
        try {
          await model.run(feeds);
          return undefined;
        } catch (e) {
          return isVitkitError(e) ? e.code : String(e);
        }
      };
      try {
        const [b, ch, h, w] = pixels.shape;
        expect(await codeOf({ ...inputs, pixel_values: Tensor.zeros('float32', [b, ch + 1, h, w]) })).toBe('INPUT_SHAPE_INVALID');
        expect(await codeOf({ ...inputs, pixel_values: Tensor.zeros('float32', [ch, h, w]) })).toBe('INPUT_SHAPE_INVALID');
        expect(await codeOf({ ...inputs, pixel_values: undefined })).toBe('INPUT_MISSING');
        expect(await codeOf({ ...inputs, not_an_input: pixels })).toBe('INPUT_INVALID');
      } finally {
        await model.dispose();
      }
    });
  });
});

describe('AutoModel', () => {
  it('picks the class from architectures[0], else from model_type', async () => {
    const files = await loadPretrained(fixturePath('dinov2/default-res'));
    expect(AutoModel.fromFiles(files).architecture).toBe('Dinov2Model');
    const bare = editCheckpoint(files, { config: (cfg) => delete cfg.architectures });
    expect(AutoModel.fromFiles(bare).architecture).toBe('Dinov2Model');
    const unknown = editCheckpoint(files, { config: (cfg) => Object.assign(cfg, { architectures: ['BertModel'] }) });
    expect(() => AutoModel.fromFiles(unknown)).toThrow(expect.objectContaining({ code: 'MODEL_TYPE_UNSUPPORTED' }));
  });

  it('fromPretrained loads a folder', async () => {
    const model = await AutoModel.fromPretrained(fixturePath('deit/with-teacher'));
    expect(model.architecture).toBe('DeiTForImageClassificationWithTeacher');
    const pixels = readFixtureTensors('deit/with-teacher/input.safetensors').get('pixel_values')!;
    expect((await model.run({ pixel_values: pixels })).logits.shape).toEqual([1, 6]);
    await model.dispose();
  });
});
