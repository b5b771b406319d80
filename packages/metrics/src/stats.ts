/** Summary statistics of a list of figures (accuracies over seeds, speeds over processes). */
import { MetricInputError } from './errors.js';

function check(what: string, xs: readonly number[]): void {
  if (xs.length === 0) throw new MetricInputError(what, 'no values');
  xs.forEach((x, i) => {
    if (!Number.isFinite(x)) throw new MetricInputError(what, `value ${i} is ${x}, not a finite number`);
  });
}

/** The arithmetic mean. */
export function mean(xs: readonly number[]): number {
  check('mean', xs);
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** The sample standard deviation (divided by n - 1); 0 for a single value. */
export function sampleStd(xs: readonly number[]): number {
  check('sampleStd', xs);
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
}

/** The median: the middle value, or the mean of the two middle values of an even count. */
export function median(xs: readonly number[]): number {
  check('median', xs);
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
