import { Rng } from '@saccade/tensor';
import { describe, expect, it } from 'vitest';

import { parseClassIndex, parseList } from './lists.js';
import { coarseToFineOrder, denseSample, tsnSample, uniformSample } from './sampling.js';

describe('sampling', () => {
  it("gives AdaFocusV2's coarse-to-fine order for T = 16, and a permutation for any T", () => {
    expect(coarseToFineOrder(16)).toEqual([7, 0, 15, 3, 11, 1, 5, 9, 13, 2, 4, 6, 8, 10, 12, 14]);
    for (const t of [1, 2, 3, 5, 8, 12, 31, 64]) {
      const order = coarseToFineOrder(t);
      expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: t }, (_, i) => i));
    }
    expect(coarseToFineOrder(8)).toEqual([3, 0, 7, 1, 5, 2, 4, 6]);
  });

  it('samples TSN segment centres in evaluation and one random frame per segment in training', () => {
    expect(tsnSample(160, 16, 'eval')).toEqual(Array.from({ length: 16 }, (_, i) => i * 10 + 5));
    const a = tsnSample(160, 16, 'train', new Rng(1));
    expect(a).toEqual(tsnSample(160, 16, 'train', new Rng(1)));
    a.forEach((f, i) => expect(Math.floor(f / 10)).toBe(i));
    expect(tsnSample(5, 8, 'eval')).toEqual([0, 0, 1, 2, 2, 3, 4, 4]);
    expect(() => tsnSample(10, 4, 'train')).toThrow(/needs a seeded Rng/);
  });

  it('samples uniformly and densely', () => {
    expect(uniformSample(31, 4)).toEqual([0, 10, 20, 30]);
    expect(denseSample(100, 4, 8, 'eval')).toEqual([37, 45, 53, 61]);
    expect(denseSample(10, 4, 4, 'eval')).toEqual([0, 4, 8, 2]);
    const d = denseSample(100, 4, 8, 'train', new Rng(3));
    expect(d[1]! - d[0]!).toBe(8);
  });
});

describe('lists', () => {
  it('parses the comma format with several labels and the space format with spaces in paths', () => {
    expect(parseList('v_abc,120,3\nv_def,80,1,4,7\n', 'anet_train.txt', 'auto', 10)).toEqual([
      { path: 'v_abc', frames: 120, labels: [3], line: 1 },
      { path: 'v_def', frames: 80, labels: [1, 4, 7], line: 2 },
    ]);
    expect(parseList('abseiling/a b c.mp4 300 0\n\nzumba/x.mp4 250 1\n', 'mk_train.txt', 'space')).toEqual([
      { path: 'abseiling/a b c.mp4', frames: 300, labels: [0], line: 1 },
      { path: 'zumba/x.mp4', frames: 250, labels: [1], line: 3 },
    ]);
  });

  it('names the file and line of a line that does not parse or a label outside the classes', () => {
    expect(() => parseList('a.mp4 12 1\nb.mp4 twelve 1\n', 'list.txt', 'space')).toThrow(/list\.txt:2: num_frames/);
    expect(() => parseList('a,12\n', 'l.csv', 'comma')).toThrow(/l\.csv:1: expected "video,num_frames,label/);
    expect(() => parseList('a.mp4 12 9\n', 'list.txt', 'space', 5)).toThrow(/list\.txt:1: label 9 is outside the 5 classes/);
  });

  it('reads classInd.txt (1-based) and category.txt', () => {
    expect(parseClassIndex('1 ApplyEyeMakeup\n2 ApplyLipstick\n', 'classInd.txt')).toEqual(['ApplyEyeMakeup', 'ApplyLipstick']);
    expect(parseClassIndex('abseiling\nzumba\n', 'category.txt')).toEqual(['abseiling', 'zumba']);
    expect(() => parseClassIndex('1 a\n3 b\n', 'classInd.txt')).toThrow(/not contiguous/);
  });
});
