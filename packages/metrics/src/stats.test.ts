import { describe, expect, it } from 'vitest';

import { MetricInputError } from './errors.js';
import { mean, median, sampleStd } from './stats.js';

describe('summary statistics', () => {
  it('mean, sample standard deviation (n - 1) and median, computed by hand', () => {
    expect(mean([70, 72, 74])).toBe(72);
    // deviations -2, 0, 2: (4 + 0 + 4) / 2 = 4
    expect(sampleStd([70, 72, 74])).toBe(2);
    expect(sampleStd([55])).toBe(0);
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([5])).toBe(5);
  });

  it('refuses empty lists and non-finite values, naming the statistic', () => {
    expect(() => mean([])).toThrow(MetricInputError);
    expect(() => median([])).toThrow(/median/);
    expect(() => sampleStd([1, Number.NaN])).toThrow(/value 1 is NaN/);
  });
});
