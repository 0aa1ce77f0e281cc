// Pictures of model outputs: RGB pixels onto a canvas, a patch-similarity map, labelled boxes and
// segment masks over the image. Pure pixel math apart from `drawPixels` and `drawBoxes`.
import type { Detection, Pixels } from './model-client.js';

/** Puts 8-bit RGB pixels on the canvas at their own size (CSS scales the element for display). */
export function drawPixels(canvas: HTMLCanvasElement, pixels: Pixels): CanvasRenderingContext2D {
  canvas.width = pixels.width;
  canvas.height = pixels.height;
  const ctx = canvas.getContext('2d')!;
  const rgba = new ImageData(pixels.width, pixels.height);
  for (let i = 0, j = 0; i < pixels.data.length; i += 3, j += 4) {
    rgba.data[j] = pixels.data[i];
    rgba.data[j + 1] = pixels.data[i + 1];
    rgba.data[j + 2] = pixels.data[i + 2];
    rgba.data[j + 3] = 255;
  }
  ctx.putImageData(rgba, 0, 0);
  return ctx;
}

/** RGB pixels from a canvas-drawable source (an <img>, video frame, bitmap), at most `maxSide` on its longer side. */
export function pixelsOf(source: CanvasImageSource, width: number, height: number, maxSide = 1024): Pixels {
  const scale = Math.min(1, maxSide / Math.max(width, height));
  const w = Math.max(1, Math.round(width * scale));
  const h = Math.max(1, Math.round(height * scale));
  const canvas = document.createElement('canvas');
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext('2d')!;
  ctx.drawImage(source, 0, 0, w, h);
  const rgba = ctx.getImageData(0, 0, w, h).data;
  const data = new Uint8Array(w * h * 3);
  for (let i = 0, j = 0; j < rgba.length; i += 3, j += 4) {
    data[i] = rgba[j];
    data[i + 1] = rgba[j + 1];
    data[i + 2] = rgba[j + 2];
  }
  return { data, width: w, height: h };
}

/** Cosine of patch `index` to every patch (features are unit rows, so each is a dot product). */
export function patchSimilarities(unitFeatures: Float32Array, patches: number, dim: number, index: number): Float32Array {
  const out = new Float32Array(patches);
  const q = unitFeatures.subarray(index * dim, (index + 1) * dim);
  for (let t = 0; t < patches; t++) {
    let dot = 0;
    const row = t * dim;
    for (let c = 0; c < dim; c++) dot += unitFeatures[row + c] * q[c];
    out[t] = dot;
  }
  return out;
}

/** A blue→white→red ramp for values in [-1, 1] (cosine similarity). */
function divergingColor(v: number): [number, number, number] {
  const t = Math.max(-1, Math.min(1, v));
  if (t >= 0) return [255, Math.round(255 * (1 - t)), Math.round(255 * (1 - t))];
  return [Math.round(255 * (1 + t)), Math.round(255 * (1 + t)), 255];
}

/**
 * Per-patch values over the image the model saw, each patch a block in the ramp's colour at 65 %
 * opacity, the selected patch outlined in black.
 */
export function similarityOverlay(view: Pixels, values: Float32Array, gridH: number, gridW: number, selected: number): Pixels {
  const { width, height } = view;
  const data = new Uint8Array(width * height * 3);
  const selRow = Math.floor(selected / gridW);
  const selCol = selected % gridW;
  for (let y = 0; y < height; y++) {
    const gy = Math.min(gridH - 1, Math.floor((y * gridH) / height));
    for (let x = 0; x < width; x++) {
      const gx = Math.min(gridW - 1, Math.floor((x * gridW) / width));
      const color = divergingColor(values[gy * gridW + gx]);
      const i = (y * width + x) * 3;
      const onEdge =
        gy === selRow &&
        gx === selCol &&
        (Math.floor(((y - 1) * gridH) / height) !== gy ||
          Math.floor(((y + 1) * gridH) / height) !== gy ||
          Math.floor(((x - 1) * gridW) / width) !== gx ||
          Math.floor(((x + 1) * gridW) / width) !== gx);
      for (let c = 0; c < 3; c++) data[i + c] = onEdge ? 0 : Math.round(view.data[i + c] * 0.35 + color[c] * 0.65);
    }
  }
  return { data, width, height };
}

/** A distinct colour per segment id (golden-angle hues). */
export function segmentColor(id: number): [number, number, number] {
  const hue = (id * 137.508) % 360;
  const f = (n: number) => {
    const k = (n + hue / 30) % 12;
    return Math.round(255 * (0.5 - 0.45 * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [f(0), f(8), f(4)];
}

/** Segment masks over the image at 55 % opacity; pixels with id 0 or -1 (no segment) are left as they are. */
export function maskOverlay(image: Pixels, ids: Int32Array, maskWidth: number, maskHeight: number): Pixels {
  const { width, height } = image;
  const data = new Uint8Array(image.data);
  for (let y = 0; y < height; y++) {
    const my = Math.min(maskHeight - 1, Math.floor((y * maskHeight) / height));
    for (let x = 0; x < width; x++) {
      const id = ids[my * maskWidth + Math.min(maskWidth - 1, Math.floor((x * maskWidth) / width))];
      if (id <= 0) continue;
      const color = segmentColor(id);
      const i = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) data[i + c] = Math.round(image.data[i + c] * 0.45 + color[c] * 0.55);
    }
  }
  return { data, width, height };
}

/** Draws each detection's box and label on the image already on the canvas. */
export function drawBoxes(ctx: CanvasRenderingContext2D, detections: readonly Detection[]): void {
  const line = Math.max(2, Math.round(Math.max(ctx.canvas.width, ctx.canvas.height) / 200));
  ctx.font = `${6 * line + 4}px system-ui, sans-serif`;
  ctx.textBaseline = 'top';
  detections.forEach((d, i) => {
    const [r, g, b] = segmentColor(i + 1);
    const [x0, y0, x1, y1] = d.box;
    ctx.strokeStyle = `rgb(${r} ${g} ${b})`;
    ctx.lineWidth = line;
    ctx.strokeRect(x0, y0, x1 - x0, y1 - y0);
    const text = `${d.label} ${(d.score * 100).toFixed(0)}%`;
    const tw = ctx.measureText(text).width + 2 * line;
    const th = 6 * line + 4 + line;
    // The label stays inside the picture (moved left or down where the box touches an edge).
    const lx = Math.max(0, Math.min(x0, ctx.canvas.width - tw));
    const ly = Math.max(0, Math.min(y0, ctx.canvas.height - th));
    ctx.fillStyle = `rgb(${r} ${g} ${b})`;
    ctx.fillRect(lx, ly, tw, th);
    ctx.fillStyle = '#000';
    ctx.fillText(text, lx + line, ly + line / 2);
  });
}

/** A synthetic picture (sky, sun, hills, a house) so every task can be tried without a file. */
export function sampleImage(width = 320, height = 240, variant = 0): Pixels {
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d')!;
  const sky = ctx.createLinearGradient(0, 0, 0, height);
  sky.addColorStop(0, variant ? '#f6a04d' : '#4d8ff6');
  sky.addColorStop(1, '#e8f1ff');
  ctx.fillStyle = sky;
  ctx.fillRect(0, 0, width, height);
  ctx.fillStyle = '#ffd23f';
  ctx.beginPath();
  ctx.arc(width * (variant ? 0.2 : 0.78), height * 0.22, height * 0.1, 0, 2 * Math.PI);
  ctx.fill();
  ctx.fillStyle = '#3c8d2f';
  ctx.beginPath();
  ctx.ellipse(width * 0.3, height, width * 0.45, height * 0.35, 0, 0, 2 * Math.PI);
  ctx.fill();
  ctx.fillStyle = '#2a6e22';
  ctx.beginPath();
  ctx.ellipse(width * 0.85, height, width * 0.4, height * 0.28, 0, 0, 2 * Math.PI);
  ctx.fill();
  ctx.fillStyle = '#b5452f';
  ctx.fillRect(width * 0.55, height * 0.5, width * 0.18, height * 0.22);
  ctx.fillStyle = '#5a2d1c';
  ctx.beginPath();
  ctx.moveTo(width * 0.53, height * 0.5);
  ctx.lineTo(width * 0.64, height * 0.36);
  ctx.lineTo(width * 0.75, height * 0.5);
  ctx.fill();
  return pixelsOf(canvas, width, height);
}
