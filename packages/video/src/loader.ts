/**
 * A batch loader: an async iterator over batches of clips, decoding ahead (in ffmpeg processes)
 * while the caller computes. Frames are sampled per video (TSN, uniform or dense), decoded resized
 * on the ffmpeg side, augmented in training (multi-scale crop and horizontal flip, the same for
 * every frame of a clip; flip can be switched off for data sets where left/right matters), and
 * handed over as bytes or as a normalised tensor. A bad video fails the batch or is skipped with a
 * report, as the caller chooses. Leaving the loop early aborts and reaps every ffmpeg process.
 */
import { existsSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';

import * as tf from '@tensorflow/tfjs';
import { Rng } from '@saccade/tensor';

import { decodeFrames } from './decode.js';
import { VideoError, VideoOptionError } from './errors.js';
import { readFrameFolder, scanFrameFolder } from './frame_folder.js';
import type { ListEntry } from './lists.js';
import { probe } from './probe.js';
import { denseSample, tsnSample, uniformSample } from './sampling.js';

export interface LoaderOptions {
  /** Folder the list paths are relative to. */
  root: string;
  entries: readonly ListEntry[];
  /** Frames per clip (T). */
  frames: number;
  /** Output frame size: side or [height, width]. */
  size: number | readonly [number, number];
  batchSize: number;
  mode: 'train' | 'eval';
  sampling?: 'tsn' | 'uniform' | 'dense';
  /** Frame stride of dense sampling. Default 2. */
  denseStride?: number;
  /** Seed of shuffling, sampling and augmentation. Default 0. */
  seed?: number;
  /** Default: true in training. */
  shuffle?: boolean;
  /** Training augmentation; default both on in training, off in evaluation. */
  augment?: { multiScaleCrop?: boolean; flip?: boolean };
  /** Batches decoded ahead of the consumer. Default 2. */
  prefetch?: number;
  /** Videos decoded at once. Default 2. */
  concurrency?: number;
  /** 'throw' (default): a bad video fails the batch; 'skip': it is left out and reported. */
  onError?: 'throw' | 'skip';
  /** Keep a last batch smaller than batchSize. Default: true in evaluation. */
  keepLast?: boolean;
  /** Count frames with ffprobe even when the list gives num_frames. Default false. */
  probeFrames?: boolean;
}

export interface Batch {
  /** B x T x H x W x 3 RGB bytes. */
  data: Uint8Array;
  shape: [number, number, number, number, number];
  labels: number[][];
  entries: ListEntry[];
  /** Frame indices sampled per video. */
  sampled: number[][];
  /** Videos left out of this batch (onError: 'skip'). */
  skipped: { entry: ListEntry; error: Error }[];
}

const EXTENSIONS = ['', '.mp4', '.webm', '.avi', '.mkv', '.mov'];

function resolvePath(root: string, entry: ListEntry): string {
  const base = join(root, entry.path);
  if (extname(base) && existsSync(base)) return base;
  for (const ext of EXTENSIONS) if (existsSync(base + ext)) return base + ext;
  return base;
}

/** Crop a region of every frame and resize it bilinearly; optionally mirror. Pure JS on bytes. */
function cropResize(
  src: Uint8Array,
  t: number,
  sh: number,
  sw: number,
  box: [number, number, number, number],
  oh: number,
  ow: number,
  flip: boolean,
): Uint8Array {
  const [by, bx, bh, bw] = box;
  const out = new Uint8Array(t * oh * ow * 3);
  for (let f = 0; f < t; f++) {
    const s0 = f * sh * sw * 3;
    const o0 = f * oh * ow * 3;
    for (let y = 0; y < oh; y++) {
      const sy = Math.min(sh - 1, Math.max(0, by + ((y + 0.5) * bh) / oh - 0.5));
      const y0 = Math.floor(sy);
      const y1 = Math.min(sh - 1, y0 + 1);
      const fy = sy - y0;
      for (let x = 0; x < ow; x++) {
        const xx = flip ? ow - 1 - x : x;
        const sx = Math.min(sw - 1, Math.max(0, bx + ((xx + 0.5) * bw) / ow - 0.5));
        const x0 = Math.floor(sx);
        const x1 = Math.min(sw - 1, x0 + 1);
        const fx = sx - x0;
        for (let c = 0; c < 3; c++) {
          const a = src[s0 + (y0 * sw + x0) * 3 + c]! * (1 - fx) + src[s0 + (y0 * sw + x1) * 3 + c]! * fx;
          const b = src[s0 + (y1 * sw + x0) * 3 + c]! * (1 - fx) + src[s0 + (y1 * sw + x1) * 3 + c]! * fx;
          out[o0 + (y * ow + x) * 3 + c] = Math.round(a * (1 - fy) + b * fy);
        }
      }
    }
  }
  return out;
}

/** Iterate over batches. Break out of the loop at any time: in-flight decodes are aborted. */
export async function* loadBatches(options: LoaderOptions): AsyncGenerator<Batch> {
  const [h, w] = typeof options.size === 'number' ? [options.size, options.size] : options.size;
  const t = options.frames;
  const train = options.mode === 'train';
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1)
    throw new VideoOptionError('batchSize', `must be a positive integer, got ${options.batchSize}`);
  if (!Number.isInteger(t) || t < 1) throw new VideoOptionError('frames', `must be a positive integer, got ${t}`);
  if (!Number.isInteger(h) || !Number.isInteger(w) || h < 2 || w < 2) throw new VideoOptionError('size', `must be integers >= 2, got ${h}x${w}`);
  const rng = new Rng(options.seed ?? 0);
  const augment = { multiScaleCrop: train, flip: train, ...options.augment };
  const order = (options.shuffle ?? train) ? rng.fork('shuffle').shuffle(options.entries) : [...options.entries];
  const keepLast = options.keepLast ?? !train;
  const batches: ListEntry[][] = [];
  for (let i = 0; i < order.length; i += options.batchSize) {
    const b = order.slice(i, i + options.batchSize);
    if (b.length === options.batchSize || keepLast) batches.push(b);
  }
  const controller = new AbortController();
  const concurrency = options.concurrency ?? 2;
  let active = 0;
  const waiting: (() => void)[] = [];
  const slot = async <R>(fn: () => Promise<R>): Promise<R> => {
    if (active >= concurrency) await new Promise<void>((r) => waiting.push(r));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };

  const loadClip = async (entry: ListEntry, clipRng: Rng): Promise<{ data: Uint8Array; sampled: number[] }> => {
    const path = resolvePath(options.root, entry);
    const isFolder = existsSync(path) && statSync(path).isDirectory();
    // The lists' num_frames saves an ffprobe process per clip; 0 (unknown) means probe.
    const count = isFolder
      ? (await scanFrameFolder(path)).files.length
      : entry.frames > 0 && !options.probeFrames
        ? entry.frames
        : (await probe(path, { signal: controller.signal })).frames;
    const sampling = options.sampling ?? 'tsn';
    const sampled =
      sampling === 'uniform'
        ? uniformSample(count, t)
        : sampling === 'dense'
          ? denseSample(count, t, options.denseStride ?? 2, options.mode, clipRng)
          : tsnSample(count, t, options.mode, clipRng);
    // Decode a little larger when cropping, so that the crop keeps detail.
    const [dh, dw] = augment.multiScaleCrop ? [Math.round(h * 1.15), Math.round(w * 1.15)] : [h, w];
    const decoded = isFolder
      ? await readFrameFolder(path, { indices: sampled, width: dw, height: dh })
      : await decodeFrames(path, { indices: sampled, width: dw, height: dh, signal: controller.signal });
    if (!augment.multiScaleCrop && !augment.flip) return { data: decoded.data, sampled };
    let box: [number, number, number, number] = [0, 0, dh, dw];
    if (augment.multiScaleCrop) {
      const scale = clipRng.pick([1, 0.875, 0.75, 0.66]);
      const side = Math.min(dh, dw) * scale;
      box = [clipRng.uniform(0, dh - side), clipRng.uniform(0, dw - side), side, side];
    }
    const flip = augment.flip ? clipRng.bernoulli(0.5) : false;
    return { data: cropResize(decoded.data, t, dh, dw, box, h, w, flip), sampled };
  };

  const loadBatch = async (entries: ListEntry[], index: number): Promise<Batch> => {
    const batchRng = rng.fork(`batch-${index}`);
    // allSettled: the batch settles only when every clip has, so no decode outlives it.
    const settled = await Promise.allSettled(entries.map((entry, k) => slot(() => loadClip(entry, batchRng.fork(k)))));
    const results = settled.map((s, k) => {
      const entry = entries[k]!;
      if (s.status === 'fulfilled') return { entry, clip: s.value };
      const error = s.reason as Error;
      if ((options.onError ?? 'throw') === 'throw' || !(error instanceof VideoError)) throw error;
      return { entry, error };
    });
    const good = results.filter((r): r is { entry: ListEntry; clip: { data: Uint8Array; sampled: number[] } } => 'clip' in r);
    const clipBytes = t * h * w * 3;
    const data = new Uint8Array(good.length * clipBytes);
    good.forEach((r, k) => data.set(r.clip.data, k * clipBytes));
    return {
      data,
      shape: [good.length, t, h, w, 3],
      labels: good.map((r) => r.entry.labels),
      entries: good.map((r) => r.entry),
      sampled: good.map((r) => r.clip.sampled),
      skipped: results.flatMap((r) => ('error' in r ? [{ entry: r.entry, error: r.error as Error }] : [])),
    };
  };

  const prefetch = Math.max(1, options.prefetch ?? 2);
  const pending: Promise<Batch>[] = [];
  let next = 0;
  const fill = () => {
    while (pending.length < prefetch && next < batches.length) {
      const p = loadBatch(batches[next]!, next);
      p.catch(() => undefined); // observed when awaited; avoid an unhandled rejection meanwhile
      pending.push(p);
      next++;
    }
  };
  try {
    fill();
    while (pending.length > 0) {
      const batch = await pending.shift()!;
      fill();
      yield batch;
    }
  } finally {
    controller.abort();
    await Promise.allSettled(pending);
  }
}

export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

/** A batch as a float32 tensor [B, T, H, W, 3]: 'unit' scales to [0, 1], 'imagenet' also normalises. */
export function batchToTensor(batch: Pick<Batch, 'data' | 'shape'>, normalise: 'unit' | 'imagenet' | 'none' = 'unit'): tf.Tensor5D {
  return tf.tidy(() => {
    const bytes = tf.tensor5d(batch.data, batch.shape, 'int32').toFloat();
    if (normalise === 'none') return bytes;
    const unit = tf.div(bytes, 255);
    if (normalise === 'unit') return unit as tf.Tensor5D;
    return tf.div(tf.sub(unit, tf.tensor1d([...IMAGENET_MEAN])), tf.tensor1d([...IMAGENET_STD])) as tf.Tensor5D;
  });
}
