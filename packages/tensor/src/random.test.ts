import { describe, expect, it } from 'vitest';

import { TensorArgumentError } from './errors.js';
import { deriveSeed, Rng } from './random.js';

describe('Rng', () => {
  it('gives the same stream for the same seed and a different one for another seed', () => {
    const a = new Rng(123);
    const b = new Rng(123);
    const c = new Rng(124);
    const sa = Array.from({ length: 50 }, () => a.next());
    expect(Array.from({ length: 50 }, () => b.next())).toEqual(sa);
    expect(Array.from({ length: 50 }, () => c.next())).not.toEqual(sa);
  });

  it('draws floats in [0, 1), integers in range, and a normal with the right moments', () => {
    const rng = new Rng(1);
    let sum = 0;
    let sq = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) {
      const u = rng.next();
      expect(u).toBeGreaterThanOrEqual(0);
      expect(u).toBeLessThan(1);
      const k = rng.int(-3, 4);
      expect(k).toBeGreaterThanOrEqual(-3);
      expect(k).toBeLessThanOrEqual(4);
      const z = rng.normal(2, 3);
      sum += z;
      sq += z * z;
    }
    const mean = sum / n;
    const std = Math.sqrt(sq / n - mean * mean);
    expect(Math.abs(mean - 2)).toBeLessThan(0.1);
    expect(Math.abs(std - 3)).toBeLessThan(0.1);
  });

  it('shuffles into a permutation, and forks children that do not depend on other draws', () => {
    const rng = new Rng(9);
    const items = Array.from({ length: 30 }, (_, i) => i);
    const shuffled = rng.shuffle(items);
    expect([...shuffled].sort((x, y) => x - y)).toEqual(items);
    expect(shuffled).not.toEqual(items);

    const p1 = new Rng(5);
    const p2 = new Rng(5);
    p2.next();
    p2.next();
    expect(p1.fork('data').next()).toBe(p2.fork('data').next());
    expect(p1.fork('data').next()).not.toBe(p1.fork('model').next());
    expect(deriveSeed(5, 'data')).toBe(deriveSeed(5, 'data'));
  });

  it('starts nearby small seeds on unrelated streams (first draws uniform, not all near 1)', () => {
    const first: number[] = [];
    const second: number[] = [];
    for (let seed = 0; seed < 400; seed++) {
      const rng = new Rng(seed);
      first.push(rng.next());
      second.push(rng.next());
    }
    for (const draws of [first, second]) {
      const mean = draws.reduce((a, b) => a + b, 0) / draws.length;
      expect(Math.abs(mean - 0.5)).toBeLessThan(0.05);
      // every tenth of [0, 1) gets its share (40 expected, binomial sd ~6)
      const bins = new Array<number>(10).fill(0);
      for (const u of draws) bins[Math.floor(u * 10)]! += 1;
      for (const b of bins) expect(b).toBeGreaterThan(18);
    }
    // large seeds use their high bits too
    expect(new Rng(2 ** 40).next()).not.toBe(new Rng(2 ** 41).next());
  });

  it('rejects seeds and ranges that make no sense', () => {
    expect(() => new Rng(1.5)).toThrow(TensorArgumentError);
    expect(() => new Rng(1).int(3, 2)).toThrow(/min <= max/);
    expect(() => new Rng(1).pick([])).toThrow(/empty/);
  });
});
