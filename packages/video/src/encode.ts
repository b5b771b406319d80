/**
 * Encoding RGB frames to H.264 mp4 or GIF with ffmpeg, written atomically (a temporary file renamed
 * into place). Encodes are bit-exact for the same frames and ffmpeg build: one x264 thread, no
 * metadata, bitexact muxing.
 */
import { randomBytes } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';

import { VideoDecodeError, VideoOptionError } from './errors.js';
import { locateFfmpeg, spawnTracked, stderrTail, type LocateOptions } from './ffmpeg.js';

export interface EncodeOptions extends LocateOptions {
  width: number;
  height: number;
  fps?: number;
  /** 'mp4' (H.264, yuv420p) or 'gif' (palette per clip). Default: from the file extension. */
  format?: 'mp4' | 'gif';
  /** x264 quality (0 lossless .. 51). Default 18. */
  crf?: number;
  /** An ffmpeg filter chain applied to the frames before encoding (built by this package, never from user text). */
  filter?: string;
}

export async function encodeVideo(file: string, frames: Uint8Array, options: EncodeOptions): Promise<void> {
  const { width, height } = options;
  const fps = options.fps ?? 8;
  const format = options.format ?? (file.toLowerCase().endsWith('.gif') ? 'gif' : 'mp4');
  const frameBytes = width * height * 3;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 2 || height < 2)
    throw new VideoOptionError('size', `must be integers >= 2, got ${width}x${height}`);
  if (format === 'mp4' && (width % 2 || height % 2)) throw new VideoOptionError('size', `H.264 (yuv420p) needs even sizes, got ${width}x${height}`);
  if (frames.byteLength === 0 || frames.byteLength % frameBytes)
    throw new VideoOptionError('frames', `${frames.byteLength} bytes is not a whole number of ${width}x${height} RGB frames`);
  const { ffmpeg } = await locateFfmpeg(options);
  const temp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}.${format}`;
  const input = [
    '-hide_banner',
    '-nostdin',
    '-v',
    'error',
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgb24',
    '-s',
    `${width}x${height}`,
    '-r',
    String(fps),
    '-i',
    'pipe:0',
  ];
  const codec =
    format === 'gif'
      ? ['-vf', `${options.filter ? `${options.filter},` : ''}split[a][b];[a]palettegen=stats_mode=full[p];[b][p]paletteuse=dither=none`, '-loop', '0']
      : [
          ...(options.filter ? ['-vf', options.filter] : []),
          '-c:v',
          'libx264',
          '-preset',
          'medium',
          '-crf',
          String(options.crf ?? 18),
          '-pix_fmt',
          'yuv420p',
          '-threads',
          '1',
          '-x264-params',
          'threads=1',
          '-movflags',
          '+faststart',
        ];
  const args = [...input, ...codec, '-map_metadata', '-1', '-fflags', '+bitexact', '-flags:v', '+bitexact', '-y', temp];
  await new Promise<void>((resolve, reject) => {
    const child = spawnTracked(ffmpeg.path, args, { timeoutMs: 600_000 });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-20_000)));
    child.on('error', (e) => reject(new VideoDecodeError(file, `ffmpeg could not start (${e.message})`, '')));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new VideoDecodeError(file, `encoding failed (ffmpeg exited ${code})`, stderrTail(stderr)))));
    child.stdin!.on('error', () => undefined); // ffmpeg failing early closes the pipe; the exit code reports it
    child.stdin!.end(Buffer.from(frames.buffer, frames.byteOffset, frames.byteLength));
  }).catch(async (error) => {
    await rm(temp, { force: true });
    throw error;
  });
  await rename(temp, file);
}
