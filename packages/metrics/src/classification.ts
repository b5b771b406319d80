import { MetricInputError } from './errors.js';
import { checkLabels, checkScores, type Scores } from './validate.js';

/** Row-wise softmax (numerically stable). */
export function softmax(scores: Scores): number[][] {
  checkScores('softmax', scores);
  return scores.map((row) => {
    const max = Math.max(...row);
    const e = Array.from(row, (v) => Math.exp(v - max));
    const sum = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / sum);
  });
}

/**
 * Top-k accuracy (0..1). A sample counts when fewer than k classes score strictly higher than its
 * label (so ties are resolved in the label's favour; torch.topk would pick among them arbitrarily).
 */
export function topKAccuracy(scores: Scores, labels: readonly number[], k = 1): number {
  const [rows, classes] = checkScores('topKAccuracy', scores);
  checkLabels('topKAccuracy', labels, rows, classes);
  if (!Number.isInteger(k) || k < 1) throw new MetricInputError('topKAccuracy', `k must be a positive integer, got ${k}`);
  let correct = 0;
  scores.forEach((row, i) => {
    const target = row[labels[i]!]!;
    let higher = 0;
    for (let j = 0; j < row.length; j++) if (row[j]! > target) higher++;
    if (higher < k) correct++;
  });
  return correct / rows;
}

export interface ConfusionMatrix {
  /** matrix[label][prediction] counts. */
  matrix: number[][];
  /** Per class: correct / samples of the class (null when the class has none). */
  recall: (number | null)[];
  /** Per class: correct / predictions of the class (null when never predicted). */
  precision: (number | null)[];
  accuracy: number;
}

/** Confusion matrix of predicted classes (argmax of scores, first on ties) against labels. */
export function confusionMatrix(scores: Scores, labels: readonly number[]): ConfusionMatrix {
  const [rows, classes] = checkScores('confusionMatrix', scores);
  checkLabels('confusionMatrix', labels, rows, classes);
  const matrix = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  scores.forEach((row, i) => {
    let best = 0;
    for (let j = 1; j < row.length; j++) if (row[j]! > row[best]!) best = j;
    matrix[labels[i]!]![best]!++;
  });
  const diag = matrix.map((r, i) => r[i]!);
  const rowSums = matrix.map((r) => r.reduce((a, b) => a + b, 0));
  const colSums = matrix[0]!.map((_, j) => matrix.reduce((a, r) => a + r[j]!, 0));
  return {
    matrix,
    recall: diag.map((d, i) => (rowSums[i] ? d / rowSums[i]! : null)),
    precision: diag.map((d, j) => (colSums[j] ? d / colSums[j]! : null)),
    accuracy: diag.reduce((a, b) => a + b, 0) / rows,
  };
}
