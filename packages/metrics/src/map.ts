import { softmax } from './classification.js';
import { MetricInputError } from './errors.js';
import { checkScores, type Scores } from './validate.js';

/**
 * Average precision of one class, as scikit-learn's average_precision_score: the precision at
 * each distinct score threshold (tied scores form one threshold), weighted by the recall gained
 * there: AP = sum_n (R_n - R_{n-1}) P_n. Returns null when the class has no positive sample.
 */
export function averagePrecision(scores: ArrayLike<number>, positives: ArrayLike<number | boolean>): number | null {
  if (scores.length !== positives.length) throw new MetricInputError('averagePrecision', `${scores.length} scores for ${positives.length} labels`);
  if (scores.length === 0) throw new MetricInputError('averagePrecision', 'scores are empty');
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => (scores[b] as number) - (scores[a] as number));
  const total = Array.from(positives).filter(Boolean).length;
  if (total === 0) return null;
  let ap = 0;
  let tp = 0;
  let seen = 0;
  let previousRecall = 0;
  for (let i = 0; i < order.length;) {
    const threshold = scores[order[i]!] as number;
    while (i < order.length && scores[order[i]!] === threshold) {
      if (positives[order[i]!]) tp++;
      seen++;
      i++;
    }
    const recall = tp / total;
    ap += (recall - previousRecall) * (tp / seen);
    previousRecall = recall;
  }
  return ap;
}

export interface MeanAveragePrecision {
  /** Mean of the per-class APs over classes with at least one positive. */
  mAP: number;
  /** AP per class; null for classes without positives (left out of the mean). */
  perClass: (number | null)[];
  /** Classes without positives. */
  ignored: number[];
}

/**
 * mAP in the AdaFocus convention (ActivityNet, FCVID, Mini-Kinetics multi-label evaluation):
 * softmax over the scores of each video (set `scores: 'probabilities'` if they already are), AP
 * per class against multi-hot labels, averaged over the classes that have positives.
 */
export function meanAveragePrecision(
  scores: Scores,
  multiHot: readonly (readonly (number | boolean)[])[],
  options: { scores?: 'logits' | 'probabilities' } = {},
): MeanAveragePrecision {
  const [rows, classes] = checkScores('meanAveragePrecision', scores);
  if (multiHot.length !== rows) throw new MetricInputError('meanAveragePrecision', `${multiHot.length} label rows for ${rows} score rows`);
  multiHot.forEach((row, i) => {
    if (row.length !== classes) throw new MetricInputError('meanAveragePrecision', `label row ${i} has ${row.length} entries, expected ${classes}`);
  });
  const probs = options.scores === 'probabilities' ? scores.map((r) => Array.from(r)) : softmax(scores);
  const perClass: (number | null)[] = [];
  for (let c = 0; c < classes; c++) {
    perClass.push(
      averagePrecision(
        probs.map((r) => r[c]!),
        multiHot.map((r) => r[c]!),
      ),
    );
  }
  const valid = perClass.filter((v): v is number => v !== null);
  if (valid.length === 0) throw new MetricInputError('meanAveragePrecision', 'no class has a positive label');
  return {
    mAP: valid.reduce((a, b) => a + b, 0) / valid.length,
    perClass,
    ignored: perClass.flatMap((v, i) => (v === null ? [i] : [])),
  };
}

/** Multi-hot rows from lists of label indices (the comma list format's label,label2,label3). */
export function multiHot(labels: readonly (readonly number[])[], classes: number): number[][] {
  return labels.map((ls, i) => {
    const row = new Array<number>(classes).fill(0);
    for (const l of ls) {
      if (!Number.isInteger(l) || l < 0 || l >= classes) throw new MetricInputError('multiHot', `label ${l} of row ${i} is outside 0..${classes - 1}`);
      row[l] = 1;
    }
    return row;
  });
}
