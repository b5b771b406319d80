/** Frame sampling: which frame indices a clip of T frames is made of. */
import type { Rng } from '@saccade/tensor';

import { VideoOptionError } from './errors.js';

function check(numFrames: number, t: number): void {
  if (!Number.isInteger(numFrames) || numFrames < 1) throw new VideoOptionError('numFrames', `must be a positive integer, got ${numFrames}`);
  if (!Number.isInteger(t) || t < 1) throw new VideoOptionError('frames', `must be a positive integer, got ${t}`);
}

/**
 * TSN segment sampling: T equal segments; in training a random frame of each segment (needs an
 * Rng), in evaluation each segment's centre. Videos shorter than T repeat frames.
 */
export function tsnSample(numFrames: number, t: number, mode: 'train' | 'eval', rng?: Rng): number[] {
  check(numFrames, t);
  if (mode === 'train' && !rng) throw new VideoOptionError('rng', 'training-mode TSN sampling needs a seeded Rng');
  const length = numFrames / t;
  return Array.from({ length: t }, (_, i) => {
    const start = i * length;
    const offset = mode === 'train' ? rng!.uniform(0, length) : length / 2;
    return Math.min(numFrames - 1, Math.floor(start + offset));
  });
}

/** T frames evenly spread from the first to the last (both included). */
export function uniformSample(numFrames: number, t: number): number[] {
  check(numFrames, t);
  if (t === 1) return [Math.floor((numFrames - 1) / 2)];
  return Array.from({ length: t }, (_, i) => Math.round((i * (numFrames - 1)) / (t - 1)));
}

/**
 * Dense sampling: T frames `stride` apart (I3D/SlowFast style); the start is random in training
 * (Rng) and centred in evaluation. Indices past the end wrap around.
 */
export function denseSample(numFrames: number, t: number, stride: number, mode: 'train' | 'eval', rng?: Rng): number[] {
  check(numFrames, t);
  if (!Number.isInteger(stride) || stride < 1) throw new VideoOptionError('stride', `must be a positive integer, got ${stride}`);
  const span = (t - 1) * stride + 1;
  const slack = Math.max(0, numFrames - span);
  if (mode === 'train' && !rng) throw new VideoOptionError('rng', 'training-mode dense sampling needs a seeded Rng');
  const start = mode === 'train' ? rng!.int(0, slack) : Math.floor(slack / 2);
  return Array.from({ length: t }, (_, i) => (start + i * stride) % numFrames);
}

/**
 * AdaFocusV2's coarse-to-fine order of T steps for early exit: the middle, both ends, then the
 * midpoints between chosen steps, level by level, left to right. For T = 16:
 * [7, 0, 15, 3, 11, 1, 5, 9, 13, 2, 4, 6, 8, 10, 12, 14].
 */
export function coarseToFineOrder(t: number): number[] {
  if (!Number.isInteger(t) || t < 1) throw new VideoOptionError('frames', `must be a positive integer, got ${t}`);
  const order: number[] = [];
  const seen = new Set<number>();
  const add = (i: number) => {
    if (!seen.has(i)) {
      seen.add(i);
      order.push(i);
    }
  };
  add(Math.floor((t - 1) / 2));
  add(0);
  add(t - 1);
  while (order.length < t) {
    const sorted = [...seen].sort((a, b) => a - b);
    const level: number[] = [];
    for (let k = 0; k + 1 < sorted.length; k++) {
      const [a, b] = [sorted[k]!, sorted[k + 1]!];
      if (b - a > 1) level.push(Math.floor((a + b) / 2));
    }
    level.forEach(add);
  }
  return order;
}
