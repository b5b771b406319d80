import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { decodeFrames } from './decode.js';
import { encodeVideo } from './encode.js';
import { EmptyVideoError, FfmpegNotFoundError, VideoDecodeError, VideoFileError, VideoOptionError } from './errors.js';
import { liveProcesses, locateFfmpeg, run } from './ffmpeg.js';
import { probe } from './probe.js';

let dir: string;
let ffmpeg: string;
const W = 64;
const H = 48;
const N = 40;

/** Frame i is a flat grey of level 5 * i, so a decoded frame tells its index. */
function greyRamp(frames: number): Uint8Array {
  const data = new Uint8Array(frames * W * H * 3);
  for (let i = 0; i < frames; i++) data.fill(5 * i + 20, i * W * H * 3, (i + 1) * W * H * 3);
  return data;
}

function meanOf(frame: Uint8Array): number {
  let s = 0;
  for (const v of frame) s += v;
  return s / frame.length;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'saccade-video-'));
  ffmpeg = (await locateFfmpeg()).ffmpeg.path;
  await encodeVideo(join(dir, 'ramp.mp4'), greyRamp(N), { width: W, height: H, fps: 10, crf: 0 });
  const lavfi = ['-hide_banner', '-v', 'error', '-f', 'lavfi', '-i', `testsrc=size=${W}x${H}:rate=12`, '-frames:v', '24'];
  await run(ffmpeg, [...lavfi, '-c:v', 'libvpx-vp9', '-y', join(dir, 'clip.webm')]);
  await run(ffmpeg, [...lavfi, '-c:v', 'mpeg4', '-y', join(dir, 'clip.avi')]);
  const good = await readFile(join(dir, 'ramp.mp4'));
  await writeFile(join(dir, 'truncated.mp4'), good.subarray(0, Math.floor(good.byteLength / 3)));
  await writeFile(join(dir, 'text.mp4'), 'this is not a video\n'.repeat(20));
});

afterAll(() => rm(dir, { recursive: true, force: true }));

describe('locateFfmpeg', () => {
  it('finds both binaries and reports where and which version', async () => {
    const info = await locateFfmpeg();
    expect(info.ffmpeg.version).toMatch(/^ffmpeg version/);
    expect(info.ffprobe.version).toMatch(/^ffprobe version/);
    expect(['npm', 'path', 'env']).toContain(info.ffmpeg.source);
  });

  it('refuses an explicit path that does not work, without falling back', async () => {
    await expect(locateFfmpeg({ ffmpegPath: join(dir, 'no-such-ffmpeg') })).rejects.toBeInstanceOf(FfmpegNotFoundError);
  });
});

describe('probe', () => {
  it.each([
    ['ramp.mp4', 'h264', 10, N],
    ['clip.webm', 'vp9', 12, 24],
    ['clip.avi', 'mpeg4', 12, 24],
  ])('%s: size, fps, frame count, codec', async (name, codec, fps, frames) => {
    const info = await probe(join(dir, name));
    expect(info).toMatchObject({ width: W, height: H, codec, frames });
    expect(info.fps).toBeCloseTo(fps, 5);
    expect(info.duration).toBeCloseTo(frames / fps, 1);
  });

  it('says what is wrong with a missing file, a text file and a truncated video', async () => {
    await expect(probe(join(dir, 'missing.mp4'))).rejects.toThrow(/missing\.mp4: cannot be read \(ENOENT\)/);
    await expect(probe(join(dir, 'text.mp4'))).rejects.toBeInstanceOf(VideoDecodeError);
    const error = await probe(join(dir, 'truncated.mp4')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VideoDecodeError);
    expect((error as VideoDecodeError).stderrTail.length).toBeGreaterThan(0);
  });
});

describe('decodeFrames', () => {
  it('decodes every frame, resized on the ffmpeg side', async () => {
    const out = await decodeFrames(join(dir, 'clip.webm'), { width: 32, height: 24 });
    expect(out).toMatchObject({ frames: 24, width: 32, height: 24, method: 'all' });
    expect(out.data.byteLength).toBe(24 * 32 * 24 * 3);
  });

  it.each(['select', 'seek'] as const)('decodes exactly the sampled frames, in the order asked, by %s', async (method) => {
    const indices = [31, 3, 17, 0, 39, 17];
    const out = await decodeFrames(join(dir, 'ramp.mp4'), { indices, width: 16, height: 12, method });
    expect(out.method).toBe(method);
    expect(out.frames).toBe(indices.length);
    const frameBytes = 16 * 12 * 3;
    indices.forEach((idx, k) => {
      expect(Math.abs(meanOf(out.data.subarray(k * frameBytes, (k + 1) * frameBytes)) - (5 * idx + 20))).toBeLessThan(2.5);
    });
  });

  it('rejects bad indices and sizes, fails clearly on corrupt files, and leaves no ffmpeg running', async () => {
    await expect(decodeFrames(join(dir, 'ramp.mp4'), { indices: [40] })).rejects.toThrow(/frame 40 is outside 0\.\.39/);
    await expect(decodeFrames(join(dir, 'ramp.mp4'), { indices: [] })).rejects.toBeInstanceOf(VideoOptionError);
    await expect(decodeFrames(join(dir, 'ramp.mp4'), { width: 0 })).rejects.toThrow(/width: must be a positive integer/);
    await expect(decodeFrames(join(dir, 'truncated.mp4'))).rejects.toBeInstanceOf(VideoDecodeError);
    await expect(decodeFrames(join(dir, 'nothing.mp4'))).rejects.toBeInstanceOf(VideoFileError);
    const controller = new AbortController();
    const pending = decodeFrames(join(dir, 'clip.webm'), { signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toThrow();
    expect(liveProcesses()).toBe(0);
  });
});

describe('encodeVideo', () => {
  it('writes the same bytes for the same frames (mp4 and GIF) and never leaves a partial file', async () => {
    const frames = greyRamp(8);
    await encodeVideo(join(dir, 'a.mp4'), frames, { width: W, height: H });
    await encodeVideo(join(dir, 'b.mp4'), frames, { width: W, height: H });
    expect(Buffer.compare(await readFile(join(dir, 'a.mp4')), await readFile(join(dir, 'b.mp4')))).toBe(0);
    await encodeVideo(join(dir, 'a.gif'), frames, { width: W, height: H });
    const gif = await probe(join(dir, 'a.gif'));
    expect(gif).toMatchObject({ codec: 'gif', frames: 8, width: W, height: H });
    await expect(encodeVideo(join(dir, 'odd.mp4'), new Uint8Array(63 * 48 * 3), { width: 63, height: 48 })).rejects.toThrow(/even sizes/);
    await expect(encodeVideo(join(dir, 'short.mp4'), new Uint8Array(100), { width: W, height: H })).rejects.toThrow(/not a whole number/);
    await expect(probe(join(dir, 'short.mp4'))).rejects.toBeInstanceOf(VideoFileError);
  });

  it('reports an empty video', async () => {
    await run(ffmpeg, ['-hide_banner', '-v', 'error', '-f', 'lavfi', '-i', 'anullsrc', '-t', '0.5', '-y', join(dir, 'audio.mp4')]);
    const error = await probe(join(dir, 'audio.mp4')).catch((e: unknown) => e);
    expect(error instanceof VideoFileError || error instanceof EmptyVideoError).toBe(true);
    expect((error as Error).message).toMatch(/no video stream|no video frames/);
  });
});

describe('aspect: squash, crop, letterbox', () => {
  /** A 96x48 video, black with a white 12x12 square whose top-left corner is at (60, 18). */
  async function marked(): Promise<string> {
    const [w, h, frames] = [96, 48, 3];
    const data = new Uint8Array(frames * w * h * 3);
    for (let f = 0; f < frames; f++) for (let y = 18; y < 30; y++) data.fill(255, (f * w * h + y * w + 60) * 3, (f * w * h + y * w + 72) * 3);
    const file = join(dir, 'marked.mp4');
    await encodeVideo(file, data, { width: w, height: h, crf: 0 });
    return file;
  }

  /** The bright square's box (continuous coordinates) in the first frame of a decode. */
  function box(d: { data: Uint8Array; width: number; height: number }): { x0: number; x1: number; y0: number; y1: number } {
    let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
    for (let y = 0; y < d.height; y++)
      for (let x = 0; x < d.width; x++)
        if (d.data[(y * d.width + x) * 3]! > 127) [x0, x1, y0, y1] = [Math.min(x0, x), Math.max(x1, x + 1), Math.min(y0, y), Math.max(y1, y + 1)];
    return { x0, x1, y0, y1 };
  }

  it('geometry is exact in whole pixels, and the square lands where toSourcePixels says (within one output pixel)', async () => {
    const { frameGeometry, toSourcePixels } = await import('./decode.js');
    expect(frameGeometry(96, 48, 32, 32, 'crop')).toMatchObject({ scaled: { width: 64, height: 32 }, offsetX: -16, offsetY: 0 });
    expect(frameGeometry(96, 48, 32, 32, 'letterbox')).toMatchObject({ scaled: { width: 32, height: 16 }, offsetX: 0, offsetY: 8 });
    expect(frameGeometry(96, 48, 32, 32, 'squash')).toMatchObject({ scaleX: 1 / 3, scaleY: 2 / 3, offsetX: 0, offsetY: 0 });
    expect(frameGeometry(64, 64, 32, 32, 'crop')).toMatchObject({ scaleX: 0.5, offsetX: 0 });
    expect(() => frameGeometry(96, 48, 32, 32, 'stretch' as 'crop')).toThrow(/fit: must be one of squash, crop, letterbox/);
    const file = await marked();
    for (const fit of ['squash', 'crop', 'letterbox'] as const) {
      const d = await decodeFrames(file, { width: 32, height: 32, fit, indices: [1] });
      expect(d.geometry.fit).toBe(fit);
      const b = box(d);
      const [sx0, sy0] = toSourcePixels(d.geometry, b.x0, b.y0);
      const [sx1, sy1] = toSourcePixels(d.geometry, b.x1, b.y1);
      // One output pixel is 1/scale source pixels: the box is found to within that.
      const tolX = 1 / d.geometry.scaleX + 0.5;
      const tolY = 1 / d.geometry.scaleY + 0.5;
      expect(Math.abs(sx0 - 60), fit).toBeLessThanOrEqual(tolX);
      expect(Math.abs(sx1 - 72), fit).toBeLessThanOrEqual(tolX);
      expect(Math.abs(sy0 - 18), fit).toBeLessThanOrEqual(tolY);
      expect(Math.abs(sy1 - 30), fit).toBeLessThanOrEqual(tolY);
    }
    // Letterbox bars are black; crop keeps the centre (the square, right of centre, survives).
    const lb = await decodeFrames(file, { width: 32, height: 32, fit: 'letterbox', indices: [0] });
    expect(Math.max(...lb.data.subarray(0, 32 * 8 * 3))).toBeLessThan(16);
    expect(Math.max(...lb.data.subarray(32 * 24 * 3, 32 * 32 * 3))).toBeLessThan(16);
    // A width alone keeps the aspect: squash geometry with equal scales.
    const one = await decodeFrames(file, { width: 48, indices: [0] });
    expect([one.width, one.height, one.geometry.scaleX, one.geometry.scaleY]).toEqual([48, 24, 0.5, 0.5]);
  });
});
