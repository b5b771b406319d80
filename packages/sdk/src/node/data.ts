/**
 * Node-only: read a video dataset folder (classInd.txt + train_list.txt / val_list.txt in the
 * AdaFocus formats, as the Moving Fashion-MNIST builder writes) and decode every video once with
 * ffmpeg into memory, T frames sampled uniformly and resized to S x S.
 *
 * Decoded frames are cached (one raw file per list, T and S) in the user's cache folder, never in
 * the dataset folder (which may be read-only). The cache key covers every video it holds (resolved
 * path, size, modification time), the list file's content and the decode parameters, so that a
 * changed, replaced or deleted video is never served from the cache.
 */
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

import { writeFileAtomic } from '@saccade/tensor/node';
import { decodeFrames, readClassIndex, readFrameFolder, readList, uniformSample, type Fit, type ListEntry } from '@saccade/video';

import { datasetFromArrays, type VideoDataset } from '../dataset.js';
import { DatasetError } from '../errors.js';

export interface LoadDatasetOptions {
  /** 'train' or 'val' (reads `${split}_list.txt`), or a list file path relative to the root. */
  split: string;
  /**
   * The list file itself, anywhere (absolute, or relative to the working folder), in place of the
   * split's: the official layouts keep lists apart from the videos (`--train-list`, `--val-list`).
   * Paths in it are still resolved against the root.
   */
  list?: string;
  /**
   * The class names: a classInd.txt / category.txt file anywhere, or the number of classes (named
   * by index, as the official ActivityNet and FCVID configs give only a count). Default: the
   * root's classInd.txt.
   */
  classes?: string | number;
  frames: number;
  size: number;
  /** How a video of another aspect becomes size x size (default 'crop', the official validation transform). */
  fit?: Fit;
  /** Use only the first n videos of the list. */
  limit?: number;
  /** Videos decoded at once. Default 2. */
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
  /**
   * Keep the decoded frames in the frame cache (`frameCacheDir()`) and read them from there next
   * time instead of running ffmpeg again. Default true, unless SACCADE_CACHE=0.
   */
  cache?: boolean;
  /** The cache folder; default `frameCacheDir()`. */
  cacheDir?: string;
  /** Called with what the cache did for this load. */
  onCache?: (event: { hit: boolean; file: string }) => void;
}

/** Bumped when the decoded bytes of the same video and parameters would differ. */
const CACHE_FORMAT = 'saccade-frames-2 uniformSample ffmpeg rgb24 scale=area';

/**
 * Where decoded frames are cached: $SACCADE_CACHE_DIR, else $XDG_CACHE_HOME/saccade/frames, else
 * ~/.cache/saccade/frames.
 */
export function frameCacheDir(): string {
  if (process.env.SACCADE_CACHE_DIR) return resolve(process.env.SACCADE_CACHE_DIR);
  const base = process.env.XDG_CACHE_HOME ? resolve(process.env.XDG_CACHE_HOME) : join(homedir(), '.cache');
  return join(base, 'saccade', 'frames');
}

/** Remove every cached entry (files named *.u8 and temporary files of this cache); returns the bytes freed. */
export async function clearFrameCache(dir = frameCacheDir()): Promise<{ dir: string; files: number; bytes: number }> {
  if (!existsSync(dir)) return { dir, files: 0, bytes: 0 };
  let files = 0;
  let bytes = 0;
  for (const name of await readdir(dir)) {
    if (!/^[0-9a-f]{16}-[0-9a-f]{32}\.u8(\.tmp-.*)?$/.test(name)) continue;
    const path = join(dir, name);
    bytes += (await stat(path)).size;
    await rm(path, { force: true });
    files++;
  }
  return { dir, files, bytes };
}

const EXTENSIONS = ['', '.mp4', '.webm', '.avi', '.mkv', '.mov'];

/** The video file a list entry names, or its folder of extracted frames (`folder: true`). */
function resolveVideo(root: string, listFile: string, entry: ListEntry): { file: string; folder: boolean } {
  // A folder of extracted frames (image_00001.jpg, 00001.jpg, ...), as the official lists name them.
  const folder = join(root, entry.path);
  if (existsSync(folder) && statSync(folder).isDirectory()) return { file: folder, folder: true };
  for (const ext of EXTENSIONS) {
    const p = join(root, entry.path + ext);
    if (ext === '' ? /\.[a-z0-9]+$/i.test(p) && existsSync(p) : existsSync(p)) return { file: p, folder: false };
  }
  for (const dir of ['videos', '']) {
    for (const ext of EXTENSIONS.slice(1)) {
      const p = join(root, dir, entry.path + ext);
      if (existsSync(p)) return { file: p, folder: false };
    }
  }
  throw new DatasetError(`${listFile}:${entry.line}`, `video ${JSON.stringify(entry.path)} not found under ${root}`);
}

/** Whether the frame cache is on by default here: unless SACCADE_CACHE is 0, false, off or no. */
export function frameCacheEnabled(): boolean {
  return !['0', 'false', 'off', 'no'].includes((process.env.SACCADE_CACHE ?? '').toLowerCase());
}

function cacheEnabled(options: LoadDatasetOptions): boolean {
  return options.cache ?? frameCacheEnabled();
}

async function classNames(root: string, given: string | number | undefined): Promise<string[]> {
  if (typeof given === 'number') {
    if (!Number.isInteger(given) || given < 2) throw new DatasetError(root, `classes: must be a class file or a whole number >= 2, got ${given}`);
    return Array.from({ length: given }, (_, i) => `class ${i}`);
  }
  const classFile = given !== undefined ? resolve(given) : join(root, 'classInd.txt');
  if (!existsSync(classFile))
    throw new DatasetError(
      given !== undefined ? classFile : root,
      given !== undefined
        ? 'class file not found'
        : 'has no classInd.txt (build one with `saccade data moving-fashion`, write "1 name" lines, or name a class file or the number of classes with --classes)',
    );
  return readClassIndex(classFile);
}

export async function loadVideoDataset(root: string, options: LoadDatasetOptions): Promise<VideoDataset> {
  root = resolve(root);
  const classes = await classNames(root, options.classes);
  const listFile = options.list
    ? resolve(options.list)
    : ['train', 'val'].includes(options.split)
      ? join(root, `${options.split}_list.txt`)
      : join(root, options.split);
  if (!existsSync(listFile)) throw new DatasetError(listFile, 'list file not found');
  let entries = await readList(listFile, { numClasses: classes.length });
  if (options.limit !== undefined) entries = entries.slice(0, options.limit);
  if (entries.length === 0) throw new DatasetError(listFile, 'lists no videos');
  for (const e of entries) {
    if (e.frames < 1)
      throw new DatasetError(`${listFile}:${e.line}`, `num_frames is ${e.frames} for ${JSON.stringify(e.path)}; a listed video needs at least one frame`);
  }
  const resolved = entries.map((e) => resolveVideo(root, listFile, e));
  const files = resolved.map((r) => r.file);
  // Folders of extracted frames, known once (the cache key and the decoder both ask).
  const folders = new Set(resolved.filter((r) => r.folder).map((r) => r.file));
  const per = options.frames * options.size * options.size * 3;
  const make = (videos: Uint8Array[]) =>
    datasetFromArrays({
      classes,
      frames: options.frames,
      size: options.size,
      videos,
      labels: entries.map((e) => e.labels[0]!),
      // Multi-label lines: the distinct labels, sorted (as the official VideoRecord keeps them).
      labelSets: entries.map((e) => [...new Set(e.labels)].sort((a, b) => a - b)),
      names: entries.map((e) => e.path),
    });

  const useCache = cacheEnabled(options);
  let cacheFile: string | undefined;
  let identity = '';
  const cacheDir = options.cacheDir ? resolve(options.cacheDir) : frameCacheDir();
  if (useCache) {
    // Which load this is (the same list read at the same T and S) and what it holds: every
    // video's resolved path, size and mtime, the list's bytes and the decode parameters.
    identity = createHash('sha256')
      .update(JSON.stringify([CACHE_FORMAT, listFile, options.frames, options.size, options.limit ?? null, options.fit ?? 'crop']))
      .digest('hex')
      .slice(0, 16);
    const content = createHash('sha256');
    content
      .update(CACHE_FORMAT)
      .update('\0')
      .update(await readFile(listFile))
      .update('\0')
      .update(classes.join('\n'));
    for (const f of files) {
      const s = await stat(f);
      content.update(`\0${f}\0${s.size}\0${s.mtimeMs}\0${s.ino}`);
      // A frame folder: every frame file (a frame rewritten in place changes no folder time).
      if (folders.has(f))
        for (const name of (await readdir(f)).sort()) {
          const fs = await stat(join(f, name));
          content.update(`\0${name}\0${fs.size}\0${fs.mtimeMs}\0${fs.ino}`);
        }
    }
    cacheFile = join(cacheDir, `${identity}-${content.digest('hex').slice(0, 32)}.u8`);
    if (existsSync(cacheFile)) {
      const bytes = await readFile(cacheFile);
      if (bytes.byteLength === per * entries.length) {
        const all = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        options.onCache?.({ hit: true, file: cacheFile });
        options.onProgress?.(entries.length, entries.length);
        return make(entries.map((_, i) => all.subarray(i * per, (i + 1) * per)));
      }
    }
  }
  const videos: Uint8Array[] = new Array(entries.length);
  let next = 0;
  let done = 0;
  // When one video fails, the others stop (their ffmpeg children are killed and reaped) before
  // the error is thrown.
  const stop = new AbortController();
  let failure: unknown;
  const worker = async () => {
    while (next < entries.length && failure === undefined) {
      const i = next++;
      const e = entries[i]!;
      const file = files[i]!;
      try {
        const at = { indices: uniformSample(e.frames, options.frames), width: options.size, height: options.size, fit: options.fit ?? 'crop' };
        const d = folders.has(file) ? await readFrameFolder(file, at) : await decodeFrames(file, { ...at, signal: stop.signal });
        if (d.frames !== options.frames) throw new DatasetError(file, `decoded ${d.frames} frames, expected ${options.frames}`);
        videos[i] = d.data;
        options.onProgress?.(++done, entries.length);
      } catch (error) {
        if (failure === undefined) failure = error;
        stop.abort();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 2) }, worker));
  if (failure !== undefined) throw failure;
  if (useCache && cacheFile) {
    try {
      await mkdir(cacheDir, { recursive: true });
      await writeFileAtomic(cacheFile, videos);
      // Older entries of the same load (the videos or the list have changed since) are stale.
      for (const name of await readdir(cacheDir)) {
        if (name.startsWith(`${identity}-`) && join(cacheDir, name) !== cacheFile && !name.includes('.tmp-')) await rm(join(cacheDir, name), { force: true });
      }
      options.onCache?.({ hit: false, file: cacheFile });
    } catch (error) {
      // A cache that cannot be written costs speed next time, never this load.
      process.emitWarning(
        `saccade: the frame cache ${cacheDir} cannot be written (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); set SACCADE_CACHE_DIR or SACCADE_CACHE=0`,
      );
    }
  }
  return make(videos);
}
