// `pnpm --filter @vitkit/image-sets bench [images] [batch]` (after `pnpm build`): how well the embed pipeline
// keeps the model busy. Makes `images` JPEGs of mixed sizes from the fixtures' photos (crops, scales,
// flips, re-encodes), synthesizes dinov2-small's weights from apps/bench/configs, then measures
//   model only: model.embed on preprocessed batches of `batch` (no decoding, no writing);
//   end to end: buildImageIndex over the folder (read, hash, decode in workers, embed, LanceDB);
// each in a process of its own, end to end twice (100 images and all of them) for peak RSS.
// Target: end to end ≥ 85 % of model-only images/s; peak RSS about the same at 100 and at `images`.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { synthesizeWeights, Tensor, writeSafetensors } from '@vitkit/core';
import { findFamily } from '@vitkit/models';
import sharp from 'sharp';
import { PIPELINE_MODEL_OPTIONS } from '../dist/embed-images.js';
import { buildImageIndex, loadEmbedder } from '../dist/index.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const WORK = join(tmpdir(), 'vitkit-image-sets-bench');
const peakMb = () => Math.round(process.resourceUsage().maxRSS / 1024);
/** CPU time of every thread of this process (workers, onnxruntime's pool) since `from`: load from other processes does not count. */
const cpuMs = (from) => {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1000;
};

async function checkpoint() {
  const dir = join(WORK, 'dinov2-small');
  if (existsSync(join(dir, 'model.safetensors'))) return dir;
  mkdirSync(dir, { recursive: true });
  const configs = join(ROOT, 'apps/bench/configs/dinov2-small');
  const config = JSON.parse(readFileSync(join(configs, 'config.json'), 'utf8'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  writeFileSync(join(dir, 'preprocessor_config.json'), readFileSync(join(configs, 'preprocessor_config.json')));
  writeFileSync(join(dir, 'model.safetensors'), writeSafetensors(synthesizeWeights(findFamily(config).stateDictSpec(config))));
  return dir;
}

/** Seeded, so every run measures the same files. */
function random(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

async function photos(count) {
  const dir = join(WORK, `photos-${count}`);
  if (existsSync(dir) && readdirSync(dir).length === count) return dir;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const sources = ['cats.jpg', 'cats.png', 'synthetic_97x61.png', 'gray_64x48.png', 'rgba_50x70.png'].map((f) =>
    join(ROOT, 'fixtures/preprocess/images', f),
  );
  const rnd = random(17);
  for (let i = 0; i < count; i++) {
    const src = sources[i % 3 === 2 ? 2 + (i % 3) : i % 2]; // mostly the 640x480 photo, some small ones
    const meta = await sharp(src).metadata();
    const w = Math.max(8, Math.floor(meta.width * (0.4 + 0.6 * rnd())));
    const h = Math.max(8, Math.floor(meta.height * (0.4 + 0.6 * rnd())));
    let img = sharp(src).extract({
      left: Math.floor((meta.width - w) * rnd()),
      top: Math.floor((meta.height - h) * rnd()),
      width: w,
      height: h,
    });
    img = img.resize(Math.round(w * (0.5 + 2 * rnd())));
    if (rnd() < 0.5) img = img.flop();
    if (rnd() < 0.2) img = img.flip();
    await img.jpeg({ quality: Math.floor(50 + 45 * rnd()) }).toFile(join(dir, `${String(i).padStart(5, '0')}.jpg`));
  }
  return dir;
}

async function modelOnly(model, images, batch) {
  const embedder = await loadEmbedder(model);
  try {
    const one = (await embedder.preprocess(join(ROOT, 'fixtures/preprocess/images/cats.jpg'))).pixel_values;
    const size = one.data.length;
    const pixels = new Float32Array(batch * size);
    for (let i = 0; i < batch; i++) pixels.set(one.data, i * size);
    const input = new Tensor('float32', pixels, [batch, ...one.shape.slice(1)]);
    await embedder.embed(input); // session made, warm
    const runs = Math.ceil(images / batch);
    const t = performance.now();
    const cpu = process.cpuUsage();
    for (let i = 0; i < runs; i++) await embedder.embed(input);
    return { imagesPerS: (runs * batch) / ((performance.now() - t) / 1000), cpuMsPerImage: cpuMs(cpu) / (runs * batch), peakMb: peakMb() };
  } finally {
    await embedder.dispose();
  }
}

async function endToEnd(model, folder, batch, workers) {
  const out = join(WORK, `index-${process.pid}`);
  rmSync(out, { recursive: true, force: true });
  // Warm the session first, as the model-only run is, so both time steady state.
  const embedder = await loadEmbedder(model, PIPELINE_MODEL_OPTIONS);
  await embedder.warmup(224, 224);
  try {
    const cpu = process.cpuUsage();
    const s = await buildImageIndex(folder, { model: embedder, out, batchSize: batch, decodeWorkers: workers });
    return {
      imagesPerS: s.embedded / s.seconds,
      cpuMsPerImage: cpuMs(cpu) / s.embedded,
      embedded: s.embedded,
      failed: s.failed.length,
      peakMb: peakMb(),
    };
  } finally {
    await embedder.dispose();
    rmSync(out, { recursive: true, force: true });
  }
}

const [mode, ...args] = process.argv.slice(2);
if (mode === 'child-model') {
  process.stdout.write(JSON.stringify(await modelOnly(args[0], Number(args[1]), Number(args[2]))));
} else if (mode === 'child-e2e') {
  process.stdout.write(
    JSON.stringify(await endToEnd(args[0], args[1], Number(args[2]), args[3] === undefined ? undefined : Number(args[3]))),
  );
} else {
  const images = Number(mode ?? 500);
  const batch = Number(args[0] ?? 16);
  const workers = args[1];
  const model = await checkpoint();
  const small = await photos(100);
  const all = await photos(images);
  const child = (...a) => JSON.parse(execFileSync(process.execPath, [fileURLToPath(import.meta.url), ...a], { encoding: 'utf8' }));
  const e2eArgs = (folder) => ['child-e2e', model, folder, String(batch), ...(workers ? [workers] : [])];
  // Model only and end to end alternate, so load from other processes on a shared machine hits both alike.
  const rounds = Number(process.env.ROUNDS ?? 2);
  const ratios = [];
  let m;
  let eAll;
  console.log(`dinov2-small, batch ${batch}, ${images} JPEGs of mixed sizes, ${rounds} rounds`);
  for (let r = 0; r < rounds; r++) {
    m = child('child-model', model, String(images), String(batch));
    eAll = child(...e2eArgs(all));
    ratios.push(eAll.imagesPerS / m.imagesPerS);
    console.log(
      `round ${r + 1}: model only ${m.imagesPerS.toFixed(2)} images/s (${m.cpuMsPerImage.toFixed(0)} CPU ms/image), ` +
        `end to end ${eAll.imagesPerS.toFixed(2)} images/s (${eAll.cpuMsPerImage.toFixed(0)} CPU ms/image) = ${(100 * ratios.at(-1)).toFixed(1)} % ` +
        `(peak RSS ${m.peakMb} / ${eAll.peakMb} MiB)`,
    );
  }
  const e100 = child(...e2eArgs(small));
  ratios.sort((a, b) => a - b);
  console.log(`end to end / model only, median: ${(100 * ratios[Math.floor(ratios.length / 2)]).toFixed(1)} % (target ≥ 85 %)`);
  console.log(`peak RSS end to end: ${e100.peakMb} MiB at 100 images, ${eAll.peakMb} MiB at ${images}`);
}
