/**
 * Decoding in the browser: an HTMLVideoElement seeked to each sampled frame and drawn on a canvas.
 * Frames are picked and placed as the Node decoder does (@saccade/video's uniformSample and
 * frameGeometry): T frames spread evenly over the video, the shorter side scaled to the model's
 * square by area averaging and centre-cropped (or squashed, or letterboxed).
 */
import type { FramesInput } from '@saccade/sdk/browser';
import { frameGeometry, uniformSample, type Fit, type FrameGeometry } from '@saccade/video/browser';

export interface DecodedVideo {
  /** The model's input: T frames of S x S, with the geometry and source frame numbers. */
  input: FramesInput;
  /** The T source frames as decoded (full size), for drawing. */
  frames: ImageBitmap[];
  width: number;
  height: number;
  /** Frames in the video and its frame rate (given, or measured from the stream). */
  frameCount: number;
  fps: number;
  fpsMeasured: boolean;
}

export class DecodeError extends Error {
  override readonly name = 'DecodeError';
}

function once(target: EventTarget, ok: string, timeoutMs: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new DecodeError(`${what}: no "${ok}" event within ${timeoutMs / 1000} s`)), timeoutMs);
    const onOk = () => finish();
    const onError = () =>
      finish(new DecodeError(`${what}: the browser cannot decode this video (${(target as HTMLVideoElement).error?.message || 'media error'})`));
    function finish(error?: Error) {
      clearTimeout(timer);
      target.removeEventListener(ok, onOk);
      target.removeEventListener('error', onError);
      if (error) reject(error);
      else resolve();
    }
    target.addEventListener(ok, onOk);
    target.addEventListener('error', onError);
  });
}

/**
 * The stream's frame rate, from the media times of frames presented while it plays (muted): the
 * most common gap between consecutive presented frames. Browsers expose no frame count or rate.
 */
async function measureFps(video: HTMLVideoElement): Promise<number | undefined> {
  if (!('requestVideoFrameCallback' in video)) return undefined;
  const times: number[] = [];
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 4000);
    const onFrame = (_now: number, meta: VideoFrameCallbackMetadata) => {
      times.push(meta.mediaTime);
      if (times.length >= 8) {
        clearTimeout(timer);
        resolve();
      } else video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
    video.play().catch(() => resolve());
  });
  video.pause();
  const gaps = times
    .slice(1)
    .map((t, i) => Math.round((t - times[i]!) * 1e4) / 1e4)
    .filter((g) => g > 0);
  if (gaps.length === 0) return undefined;
  const counts = new Map<number, number>();
  for (const g of gaps) counts.set(g, (counts.get(g) ?? 0) + 1);
  const gap = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]![0];
  return 1 / gap;
}

/**
 * Seek and wait until the frame at `frameTime` is the one a canvas draws: 'seeked' can fire before
 * the new frame is presented, so also wait for the video-frame callback that reports it (a seek
 * within the frame already shown presents nothing new: then 'seeked' and the current media time
 * are enough).
 */
async function seekTo(video: HTMLVideoElement, index: number, fps: number, what: string): Promise<void> {
  // The middle of the frame's display interval: that frame, whatever the rounding of its timestamp.
  const time = Math.min((index + 0.5) / fps, Math.max(0, video.duration - 1e-3));
  const frameTime = index / fps;
  const presented =
    'requestVideoFrameCallback' in video
      ? new Promise<number>((resolve) => {
          const check = (_now: number, meta: VideoFrameCallbackMetadata) => {
            if (Math.abs(meta.mediaTime - frameTime) < 1e-3) resolve(meta.mediaTime);
            else video.requestVideoFrameCallback(check);
          };
          video.requestVideoFrameCallback(check);
        })
      : undefined;
  const seeked = once(video, 'seeked', 30_000, what);
  const shown = Math.floor(video.currentTime * fps + 1e-6);
  video.currentTime = time;
  await seeked;
  if (!presented) return;
  // Nothing new to present when the seek stayed inside the frame on screen.
  const sameFrame = shown === index;
  await Promise.race([presented, new Promise((resolve) => setTimeout(resolve, sameFrame ? 50 : 2000))]);
}

/**
 * Area-average `src` (RGBA, sw x sh) down or up to dw x dh, RGB out: each output pixel is the mean
 * of the source area it covers, weighted by overlap (ffmpeg's `flags=area` when shrinking).
 */
export function areaResize(src: Uint8ClampedArray, sw: number, sh: number, dw: number, dh: number): Float32Array {
  const weights = (from: number, to: number) => {
    const scale = from / to;
    return Array.from({ length: to }, (_, o) => {
      const a = o * scale;
      const b = Math.min(from, (o + 1) * scale);
      const taps: [number, number][] = [];
      for (let i = Math.floor(a); i < Math.ceil(b) && i < from; i++) {
        const w = Math.min(b, i + 1) - Math.max(a, i);
        if (w > 0) taps.push([i, w / (b - a)]);
      }
      return taps;
    });
  };
  const wx = weights(sw, dw);
  const wy = weights(sh, dh);
  // Rows first: sh x dw.
  const mid = new Float32Array(sh * dw * 3);
  for (let y = 0; y < sh; y++)
    for (let x = 0; x < dw; x++) for (const [i, w] of wx[x]!) for (let c = 0; c < 3; c++) mid[(y * dw + x) * 3 + c]! += w * src[(y * sw + i) * 4 + c]!;
  const out = new Float32Array(dh * dw * 3);
  for (let y = 0; y < dh; y++)
    for (const [j, w] of wy[y]!) for (let x = 0; x < dw; x++) for (let c = 0; c < 3; c++) out[(y * dw + x) * 3 + c]! += w * mid[(j * dw + x) * 3 + c]!;
  return out;
}

/** One source frame (RGBA) -> the model's S x S RGB bytes by `g`. */
function place(rgba: Uint8ClampedArray, g: FrameGeometry, out: Uint8Array, offset: number): void {
  const { width: sw, height: sh } = g.source;
  const { width: w, height: h } = g.output;
  const scaled = g.scaled;
  const same = scaled.width === sw && scaled.height === sh;
  const resized = same ? undefined : areaResize(rgba, sw, sh, scaled.width, scaled.height);
  for (let y = 0; y < h; y++) {
    const ys = y - g.offsetY;
    for (let x = 0; x < w; x++) {
      const xs = x - g.offsetX;
      const o = offset + (y * w + x) * 3;
      if (ys < 0 || xs < 0 || ys >= scaled.height || xs >= scaled.width) {
        out[o] = out[o + 1] = out[o + 2] = 0;
        continue;
      }
      for (let c = 0; c < 3; c++) out[o + c] = resized ? Math.round(resized[(ys * scaled.width + xs) * 3 + c]!) : rgba[(ys * sw + xs) * 4 + c]!;
    }
  }
}

/**
 * Decode T frames of `url` for a model of S x S frames. `frameCount`/`fps`, when known (the
 * shipped samples list them), are used as given; otherwise the rate is measured from the stream
 * and the count is duration x rate.
 */
export async function decodeVideo(url: string, options: { frames: number; size: number; fit: Fit; frameCount?: number; fps?: number }): Promise<DecodedVideo> {
  const video = document.createElement('video');
  video.muted = true;
  video.playsInline = true;
  video.preload = 'auto';
  video.crossOrigin = 'anonymous';
  const loaded = once(video, 'loadeddata', 30_000, url);
  video.src = url;
  await loaded;
  const { videoWidth: width, videoHeight: height } = video;
  if (!width || !height) throw new DecodeError(`${url}: the video has no picture`);
  let fps = options.fps;
  let fpsMeasured = false;
  if (!fps) {
    fps = await measureFps(video);
    fpsMeasured = true;
    if (!fps) throw new DecodeError(`${url}: its frame rate cannot be measured in this browser`);
  }
  const frameCount = options.frameCount ?? Math.max(1, Math.round(video.duration * fps));
  const indices = uniformSample(frameCount, options.frames);
  const geometry = frameGeometry(width, height, options.size, options.size, options.fit);
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  const per = options.size * options.size * 3;
  const data = new Uint8Array(options.frames * per);
  const frames: ImageBitmap[] = [];
  for (const [k, index] of indices.entries()) {
    await seekTo(video, index, fps, `${url} frame ${index}`);
    ctx.drawImage(video, 0, 0, width, height);
    place(ctx.getImageData(0, 0, width, height).data, geometry, data, k * per);
    frames.push(await createImageBitmap(canvas));
  }
  video.removeAttribute('src');
  video.load();
  return {
    input: { data, frames: options.frames, width: options.size, height: options.size, sourceFrames: frameCount, geometry, sourceIndices: indices },
    frames,
    width,
    height,
    frameCount,
    fps,
    fpsMeasured,
  };
}
