// Where the input image comes from: a file (opened, dropped or pasted) decoded by vitkit's
// loadImage (the browser's decoder, with vitkit's pixel limit), or a camera frame.
import { loadImage } from '@vitkit/core';
import { pixelsOf } from './canvas-drawing.js';
import type { Pixels } from './model-client.js';

/** Longer side the page keeps (models resize anyway; this bounds memory for camera-sized photos). */
const MAX_SIDE = 1280;

export async function imageFromFile(file: Blob): Promise<Pixels> {
  const rgb = await loadImage(file);
  if (Math.max(rgb.width, rgb.height) <= MAX_SIDE) return { data: rgb.data, width: rgb.width, height: rgb.height };
  const bitmap = await createImageBitmap(file);
  try {
    return pixelsOf(bitmap, bitmap.width, bitmap.height, MAX_SIDE);
  } finally {
    bitmap.close();
  }
}

/** The first image among dropped or pasted items. */
export function firstImageFile(list: FileList | null | undefined): File | undefined {
  return [...(list ?? [])].find((f) => f.type.startsWith('image/'));
}

export class Camera {
  private stream: MediaStream | undefined;

  constructor(private readonly video: HTMLVideoElement) {}

  async start(): Promise<void> {
    if (!navigator.mediaDevices?.getUserMedia) {
      throw new Error('This browser gives the page no camera (getUserMedia is missing; it needs https or localhost).');
    }
    this.stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
    this.video.srcObject = this.stream;
    this.video.hidden = false;
    await this.video.play();
  }

  /** The current frame, then the camera is switched off. */
  capture(): Pixels {
    const { videoWidth: w, videoHeight: h } = this.video;
    if (!w || !h) throw new Error('The camera has not sent a frame yet; try again in a moment.');
    const frame = pixelsOf(this.video, w, h, MAX_SIDE);
    this.stop();
    return frame;
  }

  stop(): void {
    for (const track of this.stream?.getTracks() ?? []) track.stop();
    this.stream = undefined;
    this.video.srcObject = null;
    this.video.hidden = true;
  }
}
