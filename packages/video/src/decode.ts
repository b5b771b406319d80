/**
 * Decoding with ffmpeg as a stream of raw rgb24 frames over a pipe, resized on the ffmpeg side.
 * Two ways to get T sampled frames: 'select' (one process; ffmpeg decodes every frame but only
 * converts and sends the chosen ones) and 'seek' (one short process per frame starting at the
 * nearest keyframe before it). 'auto' picks seek for long videos, where decoding everything costs
 * far more than a few process starts; the video package README has the measurements.
 */
import { EmptyVideoError, VideoDecodeError, VideoOptionError } from './errors.js';
import { locateFfmpeg, spawnTracked, stderrTail, type LocateOptions } from './ffmpeg.js';
import { assertReadable, probe, type VideoInfo } from './probe.js';
import { frameGeometry, type Fit, type FrameGeometry } from './geometry.js';

export { FITS, frameGeometry, toSourcePixels, type Fit, type FrameGeometry } from './geometry.js';

export interface DecodeOptions extends LocateOptions {
  /** 0-based frame indices to decode, in any order (returned in this order). Default: every frame. */
  indices?: readonly number[];
  /** Output size; one of them alone keeps the aspect ratio. Default: the video's size. */
  width?: number;
  height?: number;
  /**
   * With both width and height, how a frame of another aspect gets there: 'squash' (scaled to the
   * size, aspect lost; the default), 'crop' (the shorter side scaled to fit, the longer one
   * centre-cropped: the official validation transform) or 'letterbox' (the longer side scaled to
   * fit, black bars). `DecodedFrames.geometry` says where the output's pixels come from.
   */
  fit?: Fit;
  /** How to reach sampled frames. Default 'auto'. */
  method?: 'auto' | 'select' | 'seek';
  /** Already-probed information (saves one ffprobe run). */
  info?: VideoInfo;
  signal?: AbortSignal;
  /** Per-process time limit. Default 10 minutes. */
  timeoutMs?: number;
}

export interface DecodedFrames {
  /** T * height * width * 3 bytes, frame-major, RGB. */
  data: Uint8Array;
  frames: number;
  width: number;
  height: number;
  /** The frame index of each decoded frame. */
  indices: number[];
  method: 'all' | 'select' | 'seek';
  info: VideoInfo;
  /** Where each output pixel comes from in the source frame (`toSourcePixels`). */
  geometry: FrameGeometry;
}

/** The ffmpeg filter that makes `g` (area averaging; crop and pad at whole pixels). */
function geometryFilter(g: FrameGeometry): string {
  const scale = `scale=${g.scaled.width}:${g.scaled.height}:flags=area`;
  if (g.scaled.width === g.output.width && g.scaled.height === g.output.height) return scale;
  if (g.fit === 'crop') return `${scale},crop=${g.output.width}:${g.output.height}:${-g.offsetX}:${-g.offsetY}`;
  return `${scale},pad=${g.output.width}:${g.output.height}:${g.offsetX}:${g.offsetY}:color=black`;
}

function outputSize(info: VideoInfo, width?: number, height?: number): [number, number] {
  for (const [name, v] of [
    ['width', width],
    ['height', height],
  ] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new VideoOptionError(name, `must be a positive integer, got ${v}`);
  }
  if (width && height) return [width, height];
  if (width) return [width, Math.max(2, Math.round((info.height * width) / info.width / 2) * 2)];
  if (height) return [Math.max(2, Math.round((info.width * height) / info.height / 2) * 2), height];
  return [info.width, info.height];
}

function readFrames(file: string, ffmpeg: string, args: string[], frameBytes: number, options: DecodeOptions, expectedFrames = 0): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const child = spawnTracked(ffmpeg, args, { timeoutMs: options.timeoutMs ?? 600_000, ...(options.signal ? { signal: options.signal } : {}) });
    // Frames are copied straight into one buffer of the expected size (no chunk list, no final
    // concatenation); it grows if ffmpeg sends more than the container announced.
    let buffer = Buffer.allocUnsafe(Math.max(frameBytes, expectedFrames * frameBytes));
    let filled = 0;
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => {
      if (filled + c.length > buffer.length) {
        const grown = Buffer.allocUnsafe(Math.max(buffer.length * 2, filled + c.length));
        buffer.copy(grown, 0, 0, filled);
        buffer = grown;
      }
      c.copy(buffer, filled);
      filled += c.length;
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-20_000)));
    child.on('error', (e) => reject(new VideoDecodeError(file, `ffmpeg could not start (${e.message})`, '')));
    child.on('close', (code, signal) => {
      const data = buffer.subarray(0, filled);
      if (options.signal?.aborted) return reject(new VideoDecodeError(file, 'decoding was aborted', ''));
      if (code !== 0)
        return reject(new VideoDecodeError(file, signal ? `ffmpeg was killed (${signal})` : `ffmpeg exited with code ${code}`, stderrTail(stderr)));
      if (data.byteLength % frameBytes !== 0)
        return reject(new VideoDecodeError(file, `ffmpeg sent ${data.byteLength} bytes, not a whole number of ${frameBytes}-byte frames`, stderrTail(stderr)));
      resolve(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    });
  });
}

/** Decode frames of a video file to RGB bytes. */
export async function decodeFrames(file: string, options: DecodeOptions = {}): Promise<DecodedFrames> {
  await assertReadable(file);
  const info = options.info ?? (await probe(file, options));
  const { ffmpeg } = await locateFfmpeg(options);
  const [width, height] = outputSize(info, options.width, options.height);
  const geometry = frameGeometry(info.width, info.height, width, height, options.width && options.height ? (options.fit ?? 'squash') : 'squash');
  const filter = geometryFilter(geometry);
  const frameBytes = width * height * 3;
  const common = ['-hide_banner', '-nostdin', '-v', 'error'];
  const output = ['-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'];

  if (!options.indices) {
    const data = await readFrames(file, ffmpeg.path, [...common, '-i', file, '-vf', filter, '-vsync', '0', ...output], frameBytes, options, info.frames);
    const frames = data.byteLength / frameBytes;
    if (frames === 0) throw new EmptyVideoError(file, 'decoded to zero frames');
    return { data, frames, width, height, indices: Array.from({ length: frames }, (_, i) => i), method: 'all', info, geometry };
  }

  const indices = [...options.indices];
  if (indices.length === 0) throw new VideoOptionError('indices', 'is empty');
  for (const i of indices) {
    if (!Number.isInteger(i) || i < 0 || i >= info.frames) throw new VideoOptionError('indices', `frame ${i} is outside 0..${info.frames - 1} of ${file}`);
  }
  const unique = [...new Set(indices)].sort((a, b) => a - b);
  const method =
    options.method === 'select' || options.method === 'seek' ? options.method : info.frames > 24 * unique.length && info.frames > 300 ? 'seek' : 'select';
  const byIndex = new Map<number, Uint8Array>();
  if (method === 'select') {
    const expr = unique.map((i) => `eq(n\\,${i})`).join('+');
    const data = await readFrames(
      file,
      ffmpeg.path,
      [...common, '-i', file, '-vf', `select='${expr}',${filter}`, '-vsync', '0', ...output],
      frameBytes,
      options,
      unique.length,
    );
    if (data.byteLength / frameBytes < unique.length) {
      throw new VideoDecodeError(file, `asked for ${unique.length} frames, ffmpeg decoded ${data.byteLength / frameBytes} (truncated video?)`, '');
    }
    unique.forEach((idx, k) => byIndex.set(idx, data.subarray(k * frameBytes, (k + 1) * frameBytes)));
  } else {
    // Seek to the frame's timestamp (ffmpeg decodes from the keyframe before it), one frame out.
    // Two ffmpeg children at a time; when one fails, the other is stopped and reaped before the
    // error is thrown, so no child outlives the call.
    const limit = 2;
    let next = 0;
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    if (options.signal?.aborted) stop.abort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
    const seekOptions: DecodeOptions = { ...options, signal: stop.signal };
    let failure: unknown;
    const worker = async () => {
      while (next < unique.length && failure === undefined) {
        const idx = unique[next++]!;
        // ffmpeg keeps the frames whose timestamp is at or after -ss: aim just before this frame's.
        const t = Math.max(0, (idx - 0.25) / info.fps);
        try {
          const data = await readFrames(
            file,
            ffmpeg.path,
            [...common, '-ss', t.toFixed(6), '-i', file, '-frames:v', '1', '-vf', filter, ...output],
            frameBytes,
            seekOptions,
            1,
          );
          if (data.byteLength !== frameBytes)
            throw new VideoDecodeError(file, `seeking to frame ${idx} (${t.toFixed(3)} s) gave no frame (truncated video?)`, '');
          byIndex.set(idx, data);
        } catch (error) {
          if (failure === undefined) failure = options.signal?.aborted ? new VideoDecodeError(file, 'decoding was aborted', '') : error;
          stop.abort();
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(limit, unique.length) }, worker));
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
    if (failure !== undefined) throw failure;
  }
  const data = new Uint8Array(indices.length * frameBytes);
  indices.forEach((idx, k) => data.set(byIndex.get(idx)!, k * frameBytes));
  return { data, frames: indices.length, width, height, indices, method, info, geometry };
}
