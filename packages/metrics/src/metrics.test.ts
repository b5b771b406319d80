import { describe, expect, it } from 'vitest';

import { confusionMatrix, softmax, topKAccuracy } from './classification.js';
import { MetricInputError } from './errors.js';
import { gflopsTable, meanGflopsPerVideo } from './gflops.js';
import { measureLatency, summariseTimings } from './latency.js';
import { averagePrecision, meanAveragePrecision, multiHot } from './map.js';
import { accuracyVsGflopsSvg, jsonReport, markdownTable } from './report.js';

describe('top-k accuracy and confusion', () => {
  const scores = [
    [0.1, 0.7, 0.2],
    [0.5, 0.3, 0.2],
    [0.2, 0.3, 0.5],
    [0.4, 0.4, 0.2],
  ];
  it('counts a hit when fewer than k classes score above the label', () => {
    expect(topKAccuracy(scores, [1, 1, 2, 1], 1)).toBe(0.75); // row 3 ties 0.4/0.4: counted
    expect(topKAccuracy(scores, [0, 1, 0, 2], 1)).toBe(0);
    expect(topKAccuracy(scores, [0, 1, 0, 2], 2)).toBe(0.25);
    expect(topKAccuracy(scores, [0, 1, 0, 2], 3)).toBe(1);
  });

  it('builds the confusion matrix with recall and precision', () => {
    const c = confusionMatrix(scores, [1, 0, 2, 1]);
    expect(c.matrix).toEqual([
      [1, 0, 0],
      [1, 1, 0],
      [0, 0, 1],
    ]);
    expect(c.recall).toEqual([1, 0.5, 1]);
    expect(c.precision).toEqual([0.5, 1, 1]);
    expect(c.accuracy).toBe(0.75);
  });

  it('softmax rows sum to one and keep the order', () => {
    const p = softmax([[1, 2, 3]]);
    expect(p[0]!.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(p[0]![2]).toBeGreaterThan(p[0]![1]!);
  });
});

describe('average precision and mAP', () => {
  it('matches hand-computed values', () => {
    // Ranks: + (P 1/1), -, + (P 2/3), -  => AP = (1 + 2/3) / 2.
    expect(averagePrecision([0.9, 0.8, 0.7, 0.6], [1, 0, 1, 0])).toBeCloseTo(5 / 6, 12);
    // scikit-learn's documented example: average_precision_score([0,0,1,1], [0.1,0.4,0.35,0.8]) = 0.8333.
    expect(averagePrecision([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBeCloseTo(0.8333333, 6);
  });

  it('treats tied scores as one threshold and returns null without positives', () => {
    expect(averagePrecision([0.5, 0.5], [1, 0])).toBe(0.5);
    expect(averagePrecision([0.5, 0.5, 0.2], [0, 1, 1])).toBeCloseTo(0.5 * 0.5 + 0.5 * (2 / 3), 12);
    expect(averagePrecision([0.3, 0.2], [0, 0])).toBeNull();
    expect(averagePrecision([0.3, 0.2], [1, 1])).toBe(1);
  });

  it('averages over classes with positives, on softmax scores', () => {
    const logits = [
      [2, 0, 0],
      [0, 2, 0],
      [1, 1.5, 0],
    ];
    const labels = multiHot([[0], [1], [0, 1]], 3);
    const r = meanAveragePrecision(logits, labels);
    expect(r.ignored).toEqual([2]);
    expect(r.perClass[2]).toBeNull();
    // Class 0 probabilities rank rows 0, 2, 1 with positives 0 and 2: AP 1. Class 1 ranks 1, 2, 0: AP 1.
    expect(r.mAP).toBe(1);
    // Each class now ranks a negative first, then its two positives: AP = 0.5 * 1/2 + 0.5 * 2/3.
    const swapped = meanAveragePrecision(
      [
        [0, 2, 0],
        [2, 0, 0],
        [1.5, 1, 0],
      ],
      labels,
    );
    expect(swapped.mAP).toBeCloseTo(7 / 12, 12);
  });

  it('rejects empty, NaN and mismatched inputs with MetricInputError', () => {
    expect(() => meanAveragePrecision([], [])).toThrow(MetricInputError);
    expect(() => topKAccuracy([[0.1, NaN]], [0])).toThrow(/score \[0\]\[1\] is NaN/);
    expect(() => topKAccuracy([[0.1, 0.2]], [2])).toThrow(/label 0 is 2, outside 0..1/);
    expect(() => topKAccuracy([[0.1, 0.2], [0.3]], [0, 1])).toThrow(/row 1 has 1 values/);
    expect(() => meanAveragePrecision([[1, 2]], [[0, 0]])).toThrow(/no class has a positive/);
    expect(() => multiHot([[5]], 3)).toThrow(/outside 0..2/);
  });
});

describe('GFLOPs per video', () => {
  it('accumulates per-step components and averages over exit steps', () => {
    const table = gflopsTable({ glance: 0.01, policy: 0.001, focus: 0.1, classifier: 0.002 }, 4);
    expect(table.map((r) => r.step)).toEqual([1, 2, 3, 4]);
    expect(table[3]!.gflops).toBeCloseTo(4 * 0.113, 12);
    expect(table[1]!.breakdown['focus']).toBeCloseTo(0.2, 12);
    expect(meanGflopsPerVideo(table, [1, 4, 4, 3])).toBeCloseTo((0.113 + 0.452 + 0.452 + 0.339) / 4, 12);
    expect(() => meanGflopsPerVideo(table, [5])).toThrow(/outside 1..4/);
  });
});

describe('latency', () => {
  it('warms up, then times every run and reports median and spread', async () => {
    let calls = 0;
    const stats = await measureLatency(
      () => {
        calls++;
      },
      { warmup: 2, runs: 7, itemsPerRun: 4 },
    );
    expect(calls).toBe(9);
    expect(stats.runs).toBe(7);
    expect(stats.samplesMs).toHaveLength(7);
    expect(stats.minMs).toBeLessThanOrEqual(stats.medianMs);
    expect(stats.medianMs).toBeLessThanOrEqual(stats.maxMs);
  });

  it('summarises known timings exactly', () => {
    const s = summariseTimings([10, 30, 20, 40], 2);
    expect(s.medianMs).toBe(25);
    expect(s.meanMs).toBe(25);
    expect(s.throughputPerSecond).toBe(80);
    expect(s.p90Ms).toBeCloseTo(37, 12);
  });
});

describe('reports', () => {
  const rows = [
    { method: 'AdaFocusV2', accuracy: 0.8123, gflops: 1.234 },
    { method: 'uniform', accuracy: 0.8, gflops: 4.5 },
  ];
  it('writes a markdown table and a JSON report', () => {
    expect(markdownTable(rows, [{ key: 'method' }, { key: 'accuracy', title: 'acc (%)', scale: 100, digits: 1 }, { key: 'gflops', digits: 3 }])).toBe(
      '| method | acc (%) | gflops |\n| --- | ---: | ---: |\n| AdaFocusV2 | 81.2 | 1.234 |\n| uniform | 80.0 | 4.500 |\n',
    );
    expect(JSON.parse(jsonReport(rows, { dataset: 'mfm' }))).toEqual({ dataset: 'mfm', rows });
  });

  it('draws accuracy against GFLOPs as SVG with Vega-Lite', async () => {
    const svg = await accuracyVsGflopsSvg(
      [
        {
          name: 'AdaFocusV2',
          points: [
            { gflops: 0.5, accuracy: 70, label: 'b=0.5' },
            { gflops: 1, accuracy: 78 },
          ],
        },
        { name: 'uniform', points: [{ gflops: 4, accuracy: 79 }] },
      ],
      { title: 'Moving Fashion-MNIST' },
    );
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('AdaFocusV2');
    expect(svg).toContain('uniform');
    expect(svg).toContain('GFLOPs per video');
    expect(svg).toContain('b=0.5');
    await expect(accuracyVsGflopsSvg([])).rejects.toThrow(MetricInputError);
  });
});
