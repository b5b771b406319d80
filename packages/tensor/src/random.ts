import { unsafeUniformIntDistribution, xoroshiro128plus, type RandomGenerator } from 'pure-rand';

import { TensorArgumentError } from './errors.js';

/**
 * A seeded random stream. Every random choice Saccade makes (data synthesis, sampling, shuffling,
 * weight initialisation seeds, random-patch baselines) goes through one of these, so the same seed
 * gives the same result. Backed by pure-rand's xoroshiro128+, whose whole 128-bit state is filled
 * from the seed by SplitMix32 (pure-rand's own integer seeding leaves most of the state fixed, so the
 * first draws of nearby small seeds were all close to 1).
 */
export class Rng {
  private readonly gen: RandomGenerator;
  private spareNormal: number | undefined;

  constructor(readonly seed: number) {
    if (!Number.isSafeInteger(seed)) {
      throw new TensorArgumentError('Rng', `seed must be a safe integer, got ${seed}`);
    }
    this.gen = xoroshiro128plus.fromState(seedState(seed));
  }

  /** Uniform float in [0, 1) with 53 random bits. */
  next(): number {
    const hi = (this.gen.unsafeNext() >>> 0) >>> 5; // 27 bits
    const lo = (this.gen.unsafeNext() >>> 0) >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform float in [min, max). */
  uniform(min = 0, max = 1): number {
    return min + (max - min) * this.next();
  }

  /** Uniform integer in [min, max] (both inclusive). */
  int(min: number, max: number): number {
    if (!Number.isInteger(min) || !Number.isInteger(max) || max < min) {
      throw new TensorArgumentError('Rng.int', `needs integers min <= max, got [${min}, ${max}]`);
    }
    return unsafeUniformIntDistribution(min, max, this.gen);
  }

  /** Standard normal (Marsaglia polar method), times std plus mean. */
  normal(mean = 0, std = 1): number {
    if (this.spareNormal !== undefined) {
      const v = this.spareNormal;
      this.spareNormal = undefined;
      return mean + std * v;
    }
    let u: number;
    let v: number;
    let s: number;
    do {
      u = 2 * this.next() - 1;
      v = 2 * this.next() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    this.spareNormal = v * f;
    return mean + std * u * f;
  }

  /** True with probability p. */
  bernoulli(p: number): boolean {
    return this.next() < p;
  }

  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new TensorArgumentError('Rng.pick', 'cannot pick from an empty array');
    return items[this.int(0, items.length - 1)] as T;
  }

  /** Fisher-Yates shuffle of a copy. */
  shuffle<T>(items: readonly T[]): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      const t = out[i] as T;
      out[i] = out[j] as T;
      out[j] = t;
    }
    return out;
  }

  /** Float32Array of n uniform values in [min, max). */
  uniformArray(n: number, min = 0, max = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.uniform(min, max);
    return out;
  }

  /** Float32Array of n normal values. */
  normalArray(n: number, mean = 0, std = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.normal(mean, std);
    return out;
  }

  /** A 31-bit integer seed for tfjs ops and initialisers that take one (tf.randomUniform, ...). */
  tensorSeed(): number {
    return this.int(0, 2 ** 31 - 1);
  }

  /**
   * An independent child stream named by a label: the same parent seed and label give the same
   * child whatever else was drawn from the parent, so adding a random choice in one place does not
   * shift every other stream.
   */
  fork(label: string | number): Rng {
    return new Rng(deriveSeed(this.seed, label));
  }
}

/** Four 32-bit state words from a (up to 53-bit) seed: SplitMix32 over the seed's two halves. */
function seedState(seed: number): number[] {
  let x = (seed >>> 0) ^ Math.imul(Math.floor(seed / 2 ** 32) | 0, 0x9e3779b9);
  const words: number[] = [];
  for (let i = 0; i < 4; i++) {
    x = (x + 0x9e3779b9) | 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    words.push((z ^ (z >>> 16)) | 0);
  }
  if ((words[0]! | words[1]! | words[2]! | words[3]!) === 0) words[0] = 1; // xoroshiro's one forbidden state
  return words;
}

/** Mix a seed with a label into a new 32-bit seed (FNV-1a over the label, then a murmur3 finaliser). */
export function deriveSeed(seed: number, label: string | number): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  const text = `${label}`;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= Math.floor(seed / 2 ** 32);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export function createRng(seed: number): Rng {
  return new Rng(seed);
}
