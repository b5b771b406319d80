import { stat } from 'node:fs/promises';

import { EmptyVideoError, VideoDecodeError, VideoFileError } from './errors.js';
import { locateFfmpeg, run, stderrTail, type LocateOptions } from './ffmpeg.js';

export interface VideoInfo {
  file: string;
  width: number;
  height: number;
  /** Frames per second (average frame rate). */
  fps: number;
  /** Number of frames: the container's count, else the packets counted by ffprobe. */
  frames: number;
  /** Seconds. */
  duration: number;
  codec: string;
  container: string;
}

function rate(text: string | undefined): number {
  if (!text) return 0;
  const [n, d] = text.split('/').map(Number);
  return d ? (n as number) / d : (n ?? 0);
}

export async function assertReadable(file: string): Promise<void> {
  try {
    const s = await stat(file);
    if (!s.isFile()) throw new VideoFileError(file, 'is not a file');
    if (s.size === 0) throw new VideoFileError(file, 'is empty (0 bytes)');
  } catch (error) {
    if (error instanceof VideoFileError) throw error;
    throw new VideoFileError(file, `cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
}

/** Width, height, fps, frame count, duration and codec of a video's first video stream. */
export async function probe(file: string, options: LocateOptions & { signal?: AbortSignal } = {}): Promise<VideoInfo> {
  await assertReadable(file);
  const { ffprobe } = await locateFfmpeg(options);
  const args = [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-count_packets',
    '-show_entries',
    'stream=width,height,avg_frame_rate,r_frame_rate,nb_frames,nb_read_packets,codec_name,duration:format=duration,format_name',
    '-of',
    'json',
    file,
  ];
  const { code, stdout, stderr } = await run(ffprobe.path, args, { timeoutMs: 120_000, ...(options.signal ? { signal: options.signal } : {}) });
  if (code !== 0) throw new VideoDecodeError(file, 'ffprobe cannot read it (not a video, or corrupt)', stderrTail(stderr));
  let parsed: { streams?: Record<string, string | number>[]; format?: Record<string, string> };
  try {
    parsed = JSON.parse(stdout);
  } catch {
    throw new VideoDecodeError(file, 'ffprobe gave no readable answer', stderrTail(stderr));
  }
  const s = parsed.streams?.[0];
  if (!s) throw new VideoFileError(file, `has no video stream (container: ${parsed.format?.format_name ?? 'unknown'})`);
  const fps = rate(String(s.avg_frame_rate ?? '')) || rate(String(s.r_frame_rate ?? ''));
  const duration = Number(s.duration ?? parsed.format?.duration ?? 0);
  const counted = Number(s.nb_frames ?? 0) || Number(s.nb_read_packets ?? 0) || Math.round(duration * fps);
  if (!counted) throw new EmptyVideoError(file);
  return {
    file,
    width: Number(s.width),
    height: Number(s.height),
    fps,
    frames: counted,
    duration,
    codec: String(s.codec_name),
    container: parsed.format?.format_name ?? '',
  };
}
