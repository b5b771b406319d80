/**
 * The order in which a network's steps see a video's frames. AdaFocus's early exit stops after k
 * steps; with the frames in time order those k steps have seen only the start of the video. The
 * official code (`--sample`, in training and in test_early_exit) feeds them coarse to fine instead:
 * the middle frame, the first and the last, then the midpoints of the gaps, level by level:
 * (7, 0, 15, 3, 11, 1, 5, 9, 13, 2, 4, 6, 8, 10, 12, 14) for 16 frames.
 */
export type FrameOrderKind = 'coarse-to-fine' | 'chronological';

/** The official coarse-to-fine order of T frames (its `input_order(num_segments)`), any T >= 1. */
export function coarseToFine(frames: number): number[] {
  const order: number[] = [];
  const add = (i: number) => {
    if (!order.includes(i)) order.push(i);
  };
  for (const i of [Math.floor((frames - 1) / 2), 0, frames - 1]) add(i);
  for (let q = 2; order.length < frames; q *= 2) {
    // floor(linspace(0, T - 1, q + 1)), then the floor of each gap's midpoint
    const cuts = Array.from({ length: q + 1 }, (_, j) => Math.floor(((frames - 1) * j) / q));
    for (let j = 0; j < q; j++) add(Math.floor((cuts[j]! + cuts[j + 1]!) / 2));
  }
  return order;
}

/** The frame index each step sees. */
export function frameOrder(frames: number, kind: FrameOrderKind): number[] {
  return kind === 'coarse-to-fine' ? coarseToFine(frames) : Array.from({ length: frames }, (_, i) => i);
}

/** A video's bytes [T, S, S, 3] with its frames in `order` (a new array; the input is untouched). */
export function reorderFrames(video: Uint8Array, order: readonly number[]): Uint8Array {
  const per = video.length / order.length;
  const out = new Uint8Array(video.length);
  order.forEach((f, k) => out.set(video.subarray(f * per, (f + 1) * per), k * per));
  return out;
}
