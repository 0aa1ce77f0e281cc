// Copied into each consumer project: builds DinoModel from the fixture checkpoint with nothing but
// the published packages, runs the fixture input and compares every output in expected.safetensors.
// Platform-neutral: the caller says where the checkpoint is and how to read the fixture's files.
import { readSafetensors } from '@vitkit/core';
import { DinoModel } from '@vitkit/dino';

/**
 * @param {{ source: string, device: string, readBytes: (file: string) => Promise<Uint8Array> }} args
 */
export async function checkDino({ source, device, readBytes }) {
  const testCase = JSON.parse(new TextDecoder().decode(await readBytes('case.json')));
  const input = readSafetensors(await readBytes('input.safetensors')).tensors;
  const expected = readSafetensors(await readBytes('expected.safetensors')).tensors;
  const model = await DinoModel.fromPretrained(source, { device });
  const outputs = await model.run(
    { pixel_values: input.get('pixel_values') },
    { outputHiddenStates: /output_hidden_states=True/.test(testCase.call), outputAttentions: /output_attentions=True/.test(testCase.call) },
  );
  await model.dispose();
  const atol = testCase.atol;
  const problems = [];
  const compared = [];
  let maxAbs = 0;
  for (const [name, want] of expected) {
    const got = outputs[name];
    if (!got) {
      problems.push(`no output ${name}`);
      continue;
    }
    if (got.shape.join(',') !== want.shape.join(',')) {
      problems.push(`${name}: shape [${got.shape}] != [${want.shape}]`);
      continue;
    }
    let worst = 0;
    for (let i = 0; i < want.data.length; i++) {
      const d = Math.abs(got.data[i] - want.data[i]);
      if (!(d <= worst)) worst = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
    }
    if (worst > atol) problems.push(`${name}: max |diff| ${worst} > atol ${atol}`);
    maxAbs = Math.max(maxAbs, worst);
    compared.push(name);
  }
  if (compared.length === 0) problems.push('nothing compared');
  return { ok: problems.length === 0, architecture: model.architecture, device, atol, maxAbs, compared, problems };
}
