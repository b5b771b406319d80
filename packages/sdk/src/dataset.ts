/**
 * Datasets for training and evaluation: videos already decoded to T frames of S x S RGB bytes,
 * held in memory (the Moving Fashion-MNIST benchmark is 0.8 MB a video at T=16, 128 px), and the
 * conversion of a batch to a normalised tensor. `loadVideoDataset` (Node, in ./node.ts) decodes a
 * dataset folder with @saccade/video.
 */
import * as tf from '@tensorflow/tfjs';
import { ByteImages } from '@saccade/tensor';

import type { ForwardResult, VideoNet } from './video_net.js';
import { DatasetError, InputError } from './errors.js';
import { reorderFrames } from './frame_order.js';

export interface VideoDataset {
  readonly classes: readonly string[];
  /** Frames per video (T) and frame side (S). */
  readonly frames: number;
  readonly size: number;
  readonly length: number;
  label(i: number): number;
  /**
   * Every label of video i (multi-label sets: ActivityNet and FCVID lists give up to three), with
   * `label(i)` among them; absent on single-label sets. Training draws one of them per epoch (as
   * the official code does), evaluation counts a top-1 prediction of any of them as right and
   * scores mAP against all of them.
   */
  labelSet?(i: number): readonly number[];
  /** T x S x S x 3 RGB bytes of video i. */
  video(i: number): Uint8Array;
  /** A name for reports (the file path). */
  name(i: number): string;
}

export interface ArrayDatasetOptions {
  classes: readonly string[];
  frames: number;
  size: number;
  videos: readonly Uint8Array[];
  labels: readonly number[];
  /** Every label of each video (multi-label), each holding its `labels` entry. */
  labelSets?: readonly (readonly number[])[];
  names?: readonly string[];
}

export function datasetFromArrays(o: ArrayDatasetOptions): VideoDataset {
  const per = o.frames * o.size * o.size * 3;
  if (o.videos.length !== o.labels.length) throw new DatasetError('(arrays)', `${o.videos.length} videos but ${o.labels.length} labels`);
  o.videos.forEach((v, i) => {
    if (v.length !== per)
      throw new DatasetError(o.names?.[i] ?? `video ${i}`, `has ${v.length} bytes, expected ${per} (${o.frames} x ${o.size} x ${o.size} x 3)`);
  });
  o.labels.forEach((l, i) => {
    if (!Number.isInteger(l) || l < 0 || l >= o.classes.length)
      throw new DatasetError(o.names?.[i] ?? `video ${i}`, `label ${l} is not a class index (0..${o.classes.length - 1})`);
  });
  const sets = o.labelSets;
  if (sets) {
    if (sets.length !== o.labels.length) throw new DatasetError('(arrays)', `${sets.length} label sets but ${o.labels.length} labels`);
    sets.forEach((set, i) => {
      const where = o.names?.[i] ?? `video ${i}`;
      if (!set.includes(o.labels[i]!)) throw new DatasetError(where, `its label set [${set}] lacks its label ${o.labels[i]}`);
      for (const l of set)
        if (!Number.isInteger(l) || l < 0 || l >= o.classes.length)
          throw new DatasetError(where, `label ${l} is not a class index (0..${o.classes.length - 1})`);
    });
  }
  return {
    classes: o.classes,
    frames: o.frames,
    size: o.size,
    length: o.videos.length,
    label: (i) => o.labels[i]!,
    ...(sets && sets.some((set) => set.length > 1) ? { labelSet: (i: number) => sets[i]! } : {}),
    video: (i) => o.videos[i]!,
    name: (i) => o.names?.[i] ?? `video ${i}`,
  };
}

export interface Normalisation {
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
}

/**
 * All steps of decoded videos (bytes [T, S, S, 3] each) through `net`: its `forwardPixels` where it
 * has one (reading only what it reads from the bytes), else `forward` on the normalised frames.
 * Call inside tf.tidy.
 */
export function forwardVideos(net: VideoNet, videos: readonly Uint8Array[], seed?: number): ForwardResult {
  const c = net.config;
  const opts = seed === undefined ? {} : { seed };
  const order = net.frameOrder;
  const vs = order ? videos.map((v) => reorderFrames(v, order)) : videos;
  const r = net.forwardPixels ? net.forwardPixels(rawPixels(vs, c.frames, c.frameSize), opts) : net.forward(normalise(vs, c.frames, c.frameSize, c), opts);
  // Which frame each step saw, in the videos' own numbering.
  if (order && !r.frameIndices)
    r.frameIndices = tf.tensor2d(
      Array.from({ length: videos.length }, () => [...order]),
      [videos.length, order.length],
      'int32',
    );
  return r;
}

/**
 * Videos as decoded, bytes [T, S, S, 3] each, as the frames [N * T, S, S, 3] that
 * `VideoNet.forwardPixels` reads (@saccade/tensor's ByteImages: packed bytes on wasm and cpu, 0-255
 * floats elsewhere; no per-pixel JavaScript arithmetic).
 */
export function rawPixels(bytes: readonly Uint8Array[], frames: number, size: number): ByteImages {
  const per = frames * size * size * 3;
  if (bytes.length === 0) throw new InputError('frames', 'no videos given');
  bytes.forEach((v, i) => {
    if (v.length !== per) throw new InputError('frames', `video ${i} has ${v.length} bytes, expected ${per} (${frames} x ${size} x ${size} x 3)`);
  });
  return ByteImages.from(bytes, [bytes.length * frames, size, size, 3]);
}

/**
 * Bytes [N, T, S, S, 3] (or one video [T, S, S, 3]) -> float32 (x / 255 - mean) / std.
 * `flip[i]` mirrors video i horizontally (every frame alike).
 */
/** The normalisation as x * scale + shift per channel, for 0-255 values x. */
export function normalisationAffine(n: Normalisation): { scale: number[]; shift: number[] } {
  return { scale: [0, 1, 2].map((c) => 1 / (255 * n.std[c]!)), shift: [0, 1, 2].map((c) => -n.mean[c]! / n.std[c]!) };
}

export function normalise(bytes: readonly Uint8Array[], frames: number, size: number, n: Normalisation, flip?: readonly boolean[]): tf.Tensor5D {
  const per = frames * size * size * 3;
  const out = new Float32Array(bytes.length * per);
  const { scale, shift } = normalisationAffine(n);
  bytes.forEach((v, i) => {
    if (v.length !== per) throw new InputError('frames', `video ${i} has ${v.length} bytes, expected ${per} (${frames} x ${size} x ${size} x 3)`);
    const base = i * per;
    if (!flip?.[i]) {
      for (let j = 0; j < per; j += 3) {
        out[base + j] = v[j]! * scale[0]! + shift[0]!;
        out[base + j + 1] = v[j + 1]! * scale[1]! + shift[1]!;
        out[base + j + 2] = v[j + 2]! * scale[2]! + shift[2]!;
      }
      return;
    }
    for (let r = 0; r < frames * size; r++) {
      const row = r * size * 3;
      for (let x = 0; x < size; x++) {
        const src = row + (size - 1 - x) * 3;
        const dst = base + row + x * 3;
        for (let c = 0; c < 3; c++) out[dst + c] = v[src + c]! * scale[c]! + shift[c]!;
      }
    }
  });
  return tf.tensor5d(out, [bytes.length, frames, size, size, 3]);
}
