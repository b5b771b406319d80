/**
 * Finding and running ffmpeg/ffprobe. Order: an explicit path, then FFMPEG_PATH / FFPROBE_PATH,
 * then the binaries that @ffmpeg-installer/ffmpeg and @ffprobe-installer/ffprobe ship (installed
 * from the registry with the package, no download), then PATH. Every child process is tracked and
 * killed if the caller's work fails or is aborted, so none is left behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';

import { FfmpegNotFoundError } from './errors.js';

export interface BinaryInfo {
  path: string;
  /** Where it was found. */
  source: 'option' | 'env' | 'npm' | 'path';
  /** The first line of `-version`. */
  version: string;
}

export interface FfmpegInfo {
  ffmpeg: BinaryInfo;
  ffprobe: BinaryInfo;
}

export interface LocateOptions {
  ffmpegPath?: string;
  ffprobePath?: string;
}

const require = createRequire(import.meta.url);
const cache = new Map<string, Promise<BinaryInfo>>();
const live = new Set<ChildProcess>();

function npmBinary(binary: 'ffmpeg' | 'ffprobe'): string | undefined {
  try {
    const mod = require(`@${binary}-installer/${binary}`) as { path?: string };
    return mod.path;
  } catch {
    return undefined;
  }
}

function onPath(binary: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, binary);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

async function versionOf(path: string): Promise<string> {
  const { code, stdout, stderr } = await run(path, ['-version'], { timeoutMs: 15_000 });
  if (code !== 0) throw new Error(`exited ${code}: ${stderr.trim().split('\n').pop() ?? ''}`);
  return stdout.split('\n')[0]?.trim() ?? '';
}

async function locate(binary: 'ffmpeg' | 'ffprobe', explicit?: string): Promise<BinaryInfo> {
  const env = process.env[`${binary.toUpperCase()}_PATH`];
  const candidates: [BinaryInfo['source'], string | undefined][] = [
    ['option', explicit],
    ['env', env],
    ['npm', npmBinary(binary)],
    ['path', onPath(binary)],
  ];
  const tried: string[] = [];
  for (const [source, path] of candidates) {
    if (!path) continue;
    try {
      return { path, source, version: await versionOf(path) };
    } catch (error) {
      tried.push(`${source} ${path} (${(error as Error).message.split('\n')[0]})`);
      // An explicit choice that fails is an error, not a reason to fall back silently.
      if (source === 'option' || source === 'env') throw new FfmpegNotFoundError(binary, tried);
    }
  }
  if (tried.length === 0) tried.push('no option, no environment variable, no npm package, nothing on PATH');
  throw new FfmpegNotFoundError(binary, tried);
}

/** Find ffmpeg and ffprobe (cached per explicit path); reports path, where it came from and version. */
export async function locateFfmpeg(options: LocateOptions = {}): Promise<FfmpegInfo> {
  const get = (binary: 'ffmpeg' | 'ffprobe', explicit?: string) => {
    const key = `${binary}:${explicit ?? ''}:${process.env[`${binary.toUpperCase()}_PATH`] ?? ''}`;
    let p = cache.get(key);
    if (!p) {
      p = locate(binary, explicit);
      p.catch(() => cache.delete(key));
      cache.set(key, p);
    }
    return p;
  };
  const [ffmpeg, ffprobe] = await Promise.all([get('ffmpeg', options.ffmpegPath), get('ffprobe', options.ffprobePath)]);
  return { ffmpeg, ffprobe };
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Run a binary to completion, collecting text output. */
export function run(path: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawnTracked(path, args, options);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = tail(stderr + d, 20_000)));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Spawn with tracking: killed on abort or timeout, and counted in liveProcesses() until it exits. */
export function spawnTracked(path: string, args: string[], options: RunOptions = {}): ChildProcess {
  const child = spawn(path, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  live.add(child);
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  const timer = options.timeoutMs ? setTimeout(kill, options.timeoutMs) : undefined;
  if (options.signal?.aborted) kill();
  else options.signal?.addEventListener('abort', kill, { once: true });
  child.on('close', () => {
    live.delete(child);
    if (timer) clearTimeout(timer);
    options.signal?.removeEventListener('abort', kill);
  });
  child.on('error', () => live.delete(child));
  return child;
}

/** ffmpeg/ffprobe children of this process still running (0 when nothing is in flight). */
export function liveProcesses(): number {
  return live.size;
}

export function tail(text: string, chars = 600): string {
  return text.length > chars ? text.slice(text.length - chars) : text;
}

/** The last meaningful lines of ffmpeg's stderr, for error messages. */
export function stderrTail(stderr: string, lines = 4): string {
  return stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-lines)
    .join(' | ');
}
