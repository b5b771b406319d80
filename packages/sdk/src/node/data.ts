/**
 * Node-only: read a video dataset folder (classInd.txt + train_list.txt / val_list.txt in the
 * AdaFocus formats, as the Moving Fashion-MNIST builder writes) and decode every video once with
 * ffmpeg into memory, T frames sampled uniformly and resized to S x S.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { writeFileAtomic } from '@saccade/tensor/node';

import { decodeFrames, readClassIndex, readList, uniformSample, type ListEntry } from '@saccade/video';

import { datasetFromArrays, type VideoDataset } from '../dataset.js';
import { DatasetError } from '../errors.js';

export interface LoadDatasetOptions {
  /** 'train' or 'val' (reads `${split}_list.txt`), or a list file path relative to the root. */
  split: string;
  frames: number;
  size: number;
  /** Use only the first n videos of the list. */
  limit?: number;
  /** Videos decoded at once. Default 2. */
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
  /**
   * Keep the decoded frames in `${root}/.saccade-cache/` (one raw file per split, T and size) and
   * read them from there next time instead of running ffmpeg again. Default true; the cache is
   * keyed by the list file's size and modification time.
   */
  cache?: boolean;
}

const EXTENSIONS = ['', '.mp4', '.webm', '.avi', '.mkv', '.mov'];

function resolveVideo(root: string, entry: ListEntry): string {
  for (const ext of EXTENSIONS) {
    const p = join(root, entry.path + ext);
    if (ext === '' ? /\.[a-z0-9]+$/i.test(p) && existsSync(p) : existsSync(p)) return p;
  }
  for (const dir of ['videos', '']) {
    for (const ext of EXTENSIONS.slice(1)) {
      const p = join(root, dir, entry.path + ext);
      if (existsSync(p)) return p;
    }
  }
  throw new DatasetError(join(root, entry.path), `video of list line ${entry.line} not found`);
}

export async function loadVideoDataset(root: string, options: LoadDatasetOptions): Promise<VideoDataset> {
  const classFile = join(root, 'classInd.txt');
  if (!existsSync(classFile)) throw new DatasetError(root, 'has no classInd.txt (build one with `saccade data moving-fashion` or write "1 name" lines)');
  const classes = await readClassIndex(classFile);
  const listFile = ['train', 'val'].includes(options.split) ? join(root, `${options.split}_list.txt`) : join(root, options.split);
  if (!existsSync(listFile)) throw new DatasetError(listFile, 'list file not found');
  let entries = await readList(listFile, { numClasses: classes.length });
  if (options.limit !== undefined) entries = entries.slice(0, options.limit);
  if (entries.length === 0) throw new DatasetError(listFile, 'lists no videos');
  const per = options.frames * options.size * options.size * 3;
  const listStat = await stat(listFile);
  const cacheFile = join(root, '.saccade-cache', `${basename(listFile)}-${options.limit ?? 'all'}-${options.frames}x${options.size}-${listStat.size}-${Math.round(listStat.mtimeMs)}.u8`);
  const make = (videos: Uint8Array[]) =>
    datasetFromArrays({ classes, frames: options.frames, size: options.size, videos, labels: entries.map((e) => e.labels[0]!), names: entries.map((e) => e.path) });
  if (options.cache !== false && existsSync(cacheFile)) {
    const bytes = await readFile(cacheFile);
    if (bytes.byteLength === per * entries.length) {
      const all = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      options.onProgress?.(entries.length, entries.length);
      return make(entries.map((_, i) => all.subarray(i * per, (i + 1) * per)));
    }
  }
  const videos: Uint8Array[] = new Array(entries.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < entries.length) {
      const i = next++;
      const e = entries[i]!;
      const file = resolveVideo(root, e);
      const d = await decodeFrames(file, { indices: uniformSample(e.frames, options.frames), width: options.size, height: options.size });
      if (d.frames !== options.frames) throw new DatasetError(file, `decoded ${d.frames} frames, expected ${options.frames}`);
      videos[i] = d.data;
      options.onProgress?.(++done, entries.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 2) }, worker));
  if (options.cache !== false) {
    const all = new Uint8Array(per * entries.length);
    videos.forEach((v, i) => all.set(v, i * per));
    await mkdir(dirname(cacheFile), { recursive: true });
    await writeFileAtomic(cacheFile, all);
  }
  return make(videos);
}
