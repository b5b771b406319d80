import { describe, expect, it } from 'vitest';

import { expectArraysClose } from './index.js';

describe('expectArraysClose', () => {
  it('accepts values within the tolerance and rejects values outside it', () => {
    expect(() => expectArraysClose([1, 2.00005], [1, 2])).not.toThrow();
    expect(() => expectArraysClose([1, 2.01], [1, 2])).toThrow(/differ at 1/);
  });

  it('matches infinite expected values exactly (an infinite tolerance would accept anything)', () => {
    expect(() => expectArraysClose([Infinity, -Infinity], [Infinity, -Infinity])).not.toThrow();
    expect(() => expectArraysClose([1e30], [Infinity])).toThrow(/differ at 0/);
    expect(() => expectArraysClose([0, 5], [0, -Infinity])).toThrow(/differ at 1/);
    expect(() => expectArraysClose([Infinity], [-Infinity])).toThrow(/differ at 0/);
    expect(() => expectArraysClose([Infinity], [3])).toThrow(/differ at 0/);
  });

  it('treats NaN as equal only to NaN', () => {
    expect(() => expectArraysClose([NaN], [NaN])).not.toThrow();
    expect(() => expectArraysClose([NaN], [1])).toThrow();
    expect(() => expectArraysClose([1], [NaN])).toThrow();
  });

  it('rejects arrays of different lengths', () => {
    expect(() => expectArraysClose([1, 2], [1])).toThrow(/length/);
  });
});
