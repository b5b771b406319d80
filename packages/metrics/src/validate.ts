import { MetricInputError } from './errors.js';

export type Scores = readonly (readonly number[] | Float32Array | Float64Array)[];

/** Check a non-empty rectangular matrix of finite numbers; returns [rows, columns]. */
export function checkScores(metric: string, scores: Scores): [number, number] {
  if (!Array.isArray(scores) || scores.length === 0) throw new MetricInputError(metric, 'scores are empty');
  const columns = scores[0]!.length;
  if (columns === 0) throw new MetricInputError(metric, 'score rows are empty');
  scores.forEach((row, i) => {
    if (row.length !== columns) throw new MetricInputError(metric, `score row ${i} has ${row.length} values, row 0 has ${columns}`);
    for (let j = 0; j < row.length; j++) {
      if (!Number.isFinite(row[j])) throw new MetricInputError(metric, `score [${i}][${j}] is ${row[j]}, not a finite number`);
    }
  });
  return [scores.length, columns];
}

export function checkLabels(metric: string, labels: readonly number[], rows: number, classes: number): void {
  if (labels.length !== rows) throw new MetricInputError(metric, `${labels.length} labels for ${rows} score rows`);
  labels.forEach((l, i) => {
    if (!Number.isInteger(l) || l < 0 || l >= classes) throw new MetricInputError(metric, `label ${i} is ${l}, outside 0..${classes - 1}`);
  });
}
