import { RgbImage, VitkitError } from '@vitkit/core';
import { minMaxScale } from './visualize.js';

/**
 * The first three principal components of patch features, min-max scaled to RGB — the picture in
 * the DINOv2 paper. `features` is [tokens, C] row-major; returns a gridW × gridH image (one pixel
 * per patch; scale it up for display).
 */
export function patchPcaImage(features: Float32Array, tokens: number, channels: number, gridH: number, gridW: number): RgbImage {
  if (tokens !== gridH * gridW || features.length !== tokens * channels) {
    throw new VitkitError('TENSOR_SHAPE_MISMATCH', `PCA needs ${gridH}x${gridW} patches of ${channels} channels.`);
  }
  const mean = new Float64Array(channels);
  for (let t = 0; t < tokens; t++) for (let c = 0; c < channels; c++) mean[c] += features[t * channels + c] / tokens;
  const centered = new Float64Array(tokens * channels);
  for (let t = 0; t < tokens; t++) for (let c = 0; c < channels; c++) centered[t * channels + c] = features[t * channels + c] - mean[c];
  const cov = new Float64Array(channels * channels);
  for (let t = 0; t < tokens; t++) {
    const row = t * channels;
    for (let i = 0; i < channels; i++) {
      const xi = centered[row + i];
      if (xi === 0) continue;
      for (let j = i; j < channels; j++) cov[i * channels + j] += xi * centered[row + j];
    }
  }
  for (let i = 0; i < channels; i++) for (let j = 0; j < i; j++) cov[i * channels + j] = cov[j * channels + i];
  const components = topEigenvectors(cov, channels, Math.min(3, channels));

  const projected = components.map((v) => {
    const p = new Float64Array(tokens);
    for (let t = 0; t < tokens; t++) {
      let s = 0;
      for (let c = 0; c < channels; c++) s += centered[t * channels + c] * v[c];
      p[t] = s;
    }
    return p;
  });
  const rgb = new Uint8Array(tokens * 3);
  projected.forEach((p, k) => {
    const unit = minMaxScale(p);
    for (let t = 0; t < tokens; t++) rgb[t * 3 + k] = Math.round(unit(p[t]) * 255);
  });
  return new RgbImage(rgb, gridW, gridH);
}

/** Power iteration with deflation: enough for the top few components of a covariance matrix. */
function topEigenvectors(matrix: Float64Array, n: number, count: number): Float64Array[] {
  const a = Float64Array.from(matrix);
  const out: Float64Array[] = [];
  for (let k = 0; k < count; k++) {
    let v = new Float64Array(n).map((_, i) => 1 / Math.sqrt(n) + (i % 7) * 1e-3);
    let lambda = 0;
    for (let iter = 0; iter < 300; iter++) {
      const w = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += a[i * n + j] * v[j];
        w[i] = s;
      }
      const norm = Math.hypot(...w);
      if (norm === 0) break;
      for (let i = 0; i < n; i++) w[i] /= norm;
      const delta = w.reduce((d, x, i) => d + Math.abs(x - v[i]), 0);
      v = w;
      lambda = norm;
      if (delta < 1e-10) break;
    }
    out.push(v);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] -= lambda * v[i] * v[j];
  }
  return out;
}
