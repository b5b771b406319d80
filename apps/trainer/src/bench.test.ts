// The bench's statistics and verdicts on figures made up here, with the expected lines worked out
// by hand (no model is trained): every branch (random and centre patches, V1, V3, uniform, early
// exit, the step-by-step timing) and both sides of each threshold.
import type { BudgetPoint } from '@saccade/early-exit';
import { describe, expect, it } from 'vitest';

import { benchChecks, focusOnVisible, reuseMismatch, summariseGroups, type BenchRow, type Manifest } from './bench.js';

const row = (method: string, seed: number, accuracy: number, extra: Partial<BenchRow> = {}): BenchRow => ({
  method,
  seed,
  accuracy,
  gflops: method === 'uniform' ? 1 : 0.2,
  vps: 10,
  vpsRuns: [10, 12, 8],
  trainSeconds: 100,
  ...extra,
});

describe('reuseMismatch', () => {
  // The fields of stored configs that matter here (a real config.json has every field).
  const uni = { method: 'uni_adafocus', patches: 'policy', seed: 1, epochs: 2, focusFrames: 7, sideMax: 48, lr: 0.002 };
  const v2 = { method: 'adafocus_v2', patches: 'policy', seed: 0, epochs: 2, lr: 0.002 };
  const flags = { epochs: 2, focusFrames: 7, sideMax: 48 };

  it("reuses a run trained with the same method, seed and flags; another method's flags do not count", () => {
    expect(reuseMismatch(uni, 'uni', 1, flags)).toEqual([]);
    // focusFrames and sideMax are Uni-AdaFocus's own: they never reached AdaFocusV2's runs.
    expect(reuseMismatch(v2, 'v2', 0, flags)).toEqual([]);
  });

  it('names every field that differs: a flag, the seed, the method or its variant', () => {
    expect(reuseMismatch({ ...uni, sideMax: 80 }, 'uni', 1, flags)).toEqual(['sideMax: 80 (asked 48)']);
    expect(reuseMismatch(uni, 'uni', 2, flags)).toEqual(['seed: 1 (asked 2)']);
    // A flag of every method (epochs) reaches AdaFocusV2 too.
    expect(reuseMismatch(v2, 'v2', 0, { ...flags, epochs: 3 })).toEqual(['epochs: 2 (asked 3)']);
    // Random patches are AdaFocusV2 with another patch source.
    expect(reuseMismatch(v2, 'random', 0, flags)).toEqual(['patches: "policy" (asked "random")']);
    expect(reuseMismatch(uni, 'v2', 1, flags)).toEqual(['method: "uni_adafocus" (asked "adafocus_v2")']);
  });
});

describe('summariseGroups', () => {
  it('mean and sample standard deviation over seeds, in the order methods first appear', () => {
    const groups = summariseGroups([
      row('v2', 0, 70),
      row('uniform', 0, 71),
      row('v2', 1, 72),
      row('v2', 2, 74, { vps: 16, vpsRuns: [16, 18, 14], trainSeconds: 130, firstStep: 60 }),
    ]);
    expect(groups.map((g) => g.method)).toEqual(['v2', 'uniform']);
    const v2 = groups[0]!;
    expect(v2.seeds).toBe(3);
    expect(v2.accuracies).toEqual([70, 72, 74]);
    expect(v2.accuracyMean).toBe(72);
    // Deviations -2, 0, 2: (4 + 0 + 4) / (3 - 1) = 4.
    expect(v2.accuracyStd).toBe(2);
    expect(v2.videosPerSecond).toBe(12);
    expect(v2.videosPerSecondRuns).toEqual([12, 14, 10]);
    expect(v2.trainSecondsMean).toBe(110);
    // After step 1: the rows' own (the last step's accuracy where a row has none, as a one-step model).
    expect(v2.firstStepAccuracyMean).toBe((70 + 72 + 60) / 3);
    // One seed: no spread.
    expect(groups[1]!.accuracyStd).toBe(0);
  });
});

const point = (targetGflops: number, meanGflops: number, accuracy: number, randomAccuracy: number): BudgetPoint => ({
  p: 1,
  targetGflops,
  thresholds: [],
  exitFractions: [],
  accuracy,
  meanGflops,
  randomAccuracy,
  randomMeanGflops: meanGflops,
});

describe('benchChecks', () => {
  it('judges the learned policy against random and centre patches by the spread', () => {
    const groups = summariseGroups([
      row('v2', 0, 70),
      row('v2', 1, 74),
      row('random', 0, 60),
      row('random', 1, 61),
      row('centre', 0, 69),
      row('centre', 1, 71),
    ]);
    // v2 72 ± 2.83; random 60.5 ± 0.71: margin 11.5 > 3.54. centre 70 ± 1.41: margin 2.0 < 4.24.
    expect(benchChecks(groups, [])).toEqual([
      'learned policy vs random patches: +11.5 points; spreads 2.8 + 0.7 = 3.5: margin outside the spread',
      'learned policy vs centre patches: +2.0 points; spreads 2.8 + 1.4 = 4.2: margin NOT outside the spread',
    ]);
  });

  it('judges V1 against its random-policy variant and random patches, and V2 against V1 and Uni-AdaFocus', () => {
    const groups = summariseGroups([
      row('v2', 0, 72, { trainSeconds: 100 }),
      row('v1', 0, 65, { trainSeconds: 300 }),
      row('v1-random', 0, 60),
      row('uni', 0, 71.5, { gflops: 0.1 }),
    ]);
    expect(benchChecks(groups, [])).toEqual([
      "AdaFocus V1's learned policy vs AdaFocus V1, random patches: +5.0 points; spreads 0.0 + 0.0 = 0.0: margin outside the spread",
      'AdaFocusV2 vs V1: 72.0% in 100 s of training vs 65.0% in 300 s (three stages): V2 faster, equal or better accuracy',
      "Uni-AdaFocus vs AdaFocusV2: 71.5% at 0.100 GFLOPs/video vs 72.0% at 0.200 (0.50 of its GFLOPs, within 2/3): within 1 point of V2's accuracy",
    ]);
    const worse = summariseGroups([
      row('v2', 0, 60, { trainSeconds: 400 }),
      row('v1', 0, 65, { trainSeconds: 300 }),
      row('random', 0, 66),
      row('uni', 0, 58.5),
    ]);
    expect(benchChecks(worse, [])).toEqual([
      'learned policy vs random patches: -6.0 points; spreads 0.0 + 0.0 = 0.0: margin NOT outside the spread',
      "AdaFocus V1's learned policy vs random patches: -1.0 points; spreads 0.0 + 0.0 = 0.0: margin NOT outside the spread",
      'AdaFocusV2 vs V1: 60.0% in 400 s of training vs 65.0% in 300 s (three stages): V2 NOT faster, less accuracy',
      "Uni-AdaFocus vs AdaFocusV2: 58.5% at 0.200 GFLOPs/video vs 60.0% at 0.200 (1.00 of its GFLOPs, NOT within 2/3): NOT within 1 point of V2's accuracy",
    ]);
  });

  it("judges Uni-AdaFocus's boxes against AdaFocusV2's patches, and whether the uniform baseline gains 10 points over its steps", () => {
    const groups = summariseGroups([
      row('v2', 0, 60, { inPatch: 80 }),
      row('uni', 0, 59.5, { gflops: 0.14, inPatch: 79 }),
      row('uniform', 0, 48, { firstStep: 32 }),
      row('uniform', 1, 50, { firstStep: 42 }),
    ]);
    const checks = benchChecks(groups, []);
    expect(benchChecks(summariseGroups([row('v2', 0, 60), row('uni', 0, 60, { onVisible: { chosen: 80, overall: 50 } })]), [])[1]).toBe(
      "Uni-AdaFocus's focus frames show the item in 80.0% of its steps; the videos show it in 50.0% of their frames",
    );
    // 0.14 / 0.2 = 0.70 of V2's GFLOPs: more than 2/3.
    expect(checks[0]).toBe(
      "Uni-AdaFocus vs AdaFocusV2: 59.5% at 0.140 GFLOPs/video vs 60.0% at 0.200 (0.70 of its GFLOPs, NOT within 2/3): within 1 point of V2's accuracy",
    );
    expect(checks[1]).toBe("Uni-AdaFocus's boxes hold the item in 79.0% of frames, AdaFocusV2's patches in 80.0%: NOT at least V2's share");
    // Gains +16 and +8: mean 12.
    expect(checks[2]).toBe(
      'uniform baseline from its first step to its last: 37.0% -> 49.0%, +12.0 points (mean of 2 seeds; seed by seed +16.0, +8.0): at least 10 (evidence accumulates over the frames)',
    );
    const flat = benchChecks(summariseGroups([row('uniform', 0, 70, { firstStep: 70 })]), []);
    expect(flat).toEqual([
      'uniform baseline from its first step to its last: 70.0% -> 70.0%, +0.0 points (mean of 1 seed): NOT at least 10 (evidence does not accumulate enough over the frames)',
    ]);
    // Without first-step figures (older reports) there is no verdict.
    expect(benchChecks(summariseGroups([row('uniform', 0, 70)]), [])).toEqual([]);
  });

  it('judges AdaFocusV2 against uniform within 2 points, and its throughput against the GFLOPs ratio', () => {
    const within = summariseGroups([row('v2', 0, 70, { vps: 20, vpsRuns: [20, 18] }), row('uniform', 0, 71.5, { vps: 5, vpsRuns: [5, 6] })]);
    // GFLOPs 1 vs 0.2: ratio 5; videos/s 20 / 5 = 4: 0.80 of it; per process 20/5/5 = 0.80, 18/6/5 = 0.60.
    expect(benchChecks(within, [])).toEqual([
      'AdaFocusV2 70.0 ± 0.0% vs uniform 71.5 ± 0.0% (-1.50 points: within 2) at 1/5.00 of its GFLOPs',
      'videos/s ratio 4.00x against a GFLOPs ratio of 5.00x: 0.80 of it (each speed process alone: 0.80, 0.60)',
    ]);
    const outside = summariseGroups([row('v2', 0, 69, { vpsRuns: [10] }), row('uniform', 0, 71.5, { vpsRuns: [10] })]);
    expect(benchChecks(outside, [])[0]).toMatch(/\(-2\.50 points: NOT within 2\)/);
  });

  it('finds the cheapest budget within 1 point, counts budgets above random exit per seed, and reports the timing', () => {
    const groups = summariseGroups([row('v2', 0, 70)]);
    const seedA = [point(0.05, 0.05, 0.6, 0.55), point(0.1, 0.1, 0.695, 0.7), point(0.15, 0.15, 0.7, 0.65)];
    const seedB = [point(0.05, 0.07, 0.62, 0.55), point(0.1, 0.1, 0.695, 0.6), point(0.15, 0.15, 0.7, 0.72)];
    // Mean curve: (0.06, 0.61 vs 0.55), (0.1, 0.695 vs 0.65), (0.15, 0.70 vs 0.685): within 1 point of
    // 70% are the last two; the cheaper is 0.1 GFLOPs: 0.2 / 0.1 = 2x at 0.5 points; random beaten at 3 of 3.
    const timing = {
      videos: 8,
      targetGflops: 0.1,
      full: { msPerVideo: 12, gflopsPerVideo: 0.2, accuracy: 0.7 },
      early: { msPerVideo: 6, gflopsPerVideo: 0.1, accuracy: 0.69 },
    };
    expect(benchChecks(groups, [seedA, seedB], timing)).toEqual([
      'early exit (mean of 2 seeds): 2.00x fewer GFLOPs per video at 0.5 points accuracy loss (budget 0.100)',
      'early exit beats random exit (its expected accuracy at the same exit counts) at 3 of 3 budgets (mean of 2 seeds); seed by seed: 2, 2 of 3',
      'classify step by step (8 videos): 12.0 ms and 0.200 GFLOPs per video without exit, 6.0 ms and 0.100 GFLOPs with the 0.100-GFLOPs budget (2.00x faster)',
    ]);
    // Uni-AdaFocus's curves are judged on their own: seed A beats random at 2 of 3, seed B at 1 of 3.
    const uniB = [point(0.05, 0.05, 0.5, 0.55), point(0.1, 0.1, 0.6, 0.65), point(0.15, 0.15, 0.7, 0.6)];
    expect(benchChecks(summariseGroups([row('uni', 0, 70)]), [], undefined, [seedA, uniB])).toEqual([
      "Uni-AdaFocus's early exit beats random exit (its expected accuracy at the same exit counts) at 1 of 3 budgets (mean of 2 seeds); seed by seed: 2, 1 of 3",
    ]);
  });
});

describe('focusOnVisible', () => {
  it('counts the patch steps whose chosen frame shows the item, skipping steps without a patch', () => {
    const manifest: Manifest = {
      options: { itemSize: 40, size: 128 },
      videos: [
        { file: 'videos/a.mp4', boxes: [], visible: [true, false, false, true] },
        { file: 'videos/b.mp4', boxes: [], visible: [false, true, true, true] },
      ],
    };
    // Three steps per video: a glance-only step (NaN centre), then two chosen frames.
    const centres = Float32Array.from([NaN, NaN, 0.5, 0.5, 0.5, 0.5, NaN, NaN, 0.5, 0.5, 0.5, 0.5]);
    const frameIndices = Int32Array.from([3, 0, 1, 3, 0, 2]);
    const names = (i: number) => ['/data/videos/a.mp4', '/data/videos/b.mp4'][i]!;
    // Video a: frames 0 (shown) and 1 (hidden); video b: 0 (hidden) and 2 (shown): 2 of 4. Overall 5 of 8 frames.
    expect(focusOnVisible(manifest, names, { centres, frameIndices, steps: 3 })).toEqual({ chosen: 50, overall: 62.5 });
    // Nothing hidden, or no chosen frames: no figure.
    const always = { ...manifest, videos: manifest.videos.map((v) => ({ ...v, visible: [true, true, true, true] })) };
    expect(focusOnVisible(always, names, { centres, frameIndices, steps: 3 })).toBeUndefined();
    expect(focusOnVisible(manifest, names, { centres, steps: 3 })).toBeUndefined();
  });
});
