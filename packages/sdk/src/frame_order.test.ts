import { describe, expect, it } from 'vitest';

import { TOY } from '../test/toy.js';
import { createVideoNet } from './create.js';
import { coarseToFine, frameOrder, reorderFrames } from './frame_order.js';

describe('frame order', () => {
  it("is the official coarse-to-fine order (test_early_exit's input_order) for 16 frames, and a permutation for any T", () => {
    expect(coarseToFine(16)).toEqual([7, 0, 15, 3, 11, 1, 5, 9, 13, 2, 4, 6, 8, 10, 12, 14]);
    expect(coarseToFine(8)).toEqual([3, 0, 7, 1, 5, 2, 4, 6]);
    expect(coarseToFine(4)).toEqual([1, 0, 3, 2]);
    expect(coarseToFine(1)).toEqual([0]);
    expect(coarseToFine(2)).toEqual([0, 1]);
    for (let t = 1; t <= 64; t++) expect([...coarseToFine(t)].sort((a, b) => a - b)).toEqual(Array.from({ length: t }, (_, i) => i));
    expect(frameOrder(5, 'chronological')).toEqual([0, 1, 2, 3, 4]);
  });

  it('reorders a video frame by frame; networks whose steps are frames carry the order, Uni-AdaFocus (which picks its frames) does not', () => {
    const video = Uint8Array.from({ length: 4 * 2 }, (_, i) => Math.floor(i / 2));
    expect(Array.from(reorderFrames(video, [1, 0, 3, 2]))).toEqual([1, 1, 0, 0, 3, 3, 2, 2]);
    const v2 = createVideoNet(TOY, 3);
    const chrono = createVideoNet({ ...TOY, frameOrder: 'chronological' }, 3);
    const v3 = createVideoNet({ ...TOY, method: 'uni_adafocus', glanceFrames: 2, focusFrames: 3, spatialHidden: 4, temporalHidden: 4, mcSamples: 4 }, 3);
    try {
      expect(v2.frameOrder).toEqual([1, 0, 3, 2]);
      expect(chrono.frameOrder).toBeUndefined();
      expect(v3.frameOrder).toBeUndefined();
    } finally {
      [v2, chrono, v3].forEach((n) => n.dispose());
    }
  });
});
