// Test data made in the test: a bright square in the class's colour channel moving over dim noise.
import { Rng } from '@saccade/tensor';

import { datasetFromArrays, parseConfig, reorderFrames, type TrainConfigInput, type VideoDataset, type VideoNet } from '../src/universal.js';

export const TOY: TrainConfigInput = {
  frames: 4,
  frameSize: 32,
  glanceSize: 16,
  patchSize: 16,
  glanceWidth: 0.25,
  focusWidth: 0.25,
  classifierWidth: 16,
  batchSize: 4,
  epochs: 2,
  lr: 0.003,
  seed: 3,
  // Toy squares, tiny widths: no pretrained backbones fit.
  pretrained: false,
};

export function toyVideo(label: number, rng: Rng, frames = 4, size = 32): Uint8Array {
  const v = new Uint8Array(frames * size * size * 3);
  for (let i = 0; i < v.length; i++) v[i] = rng.int(0, 40);
  const side = size / 4;
  let y = rng.int(0, size - side);
  let x = rng.int(0, size - side);
  const [dy, dx] = [rng.int(-2, 3), rng.int(-2, 3)];
  for (let f = 0; f < frames; f++) {
    for (let r = 0; r < side; r++) for (let c = 0; c < side; c++) v[((f * size + y + r) * size + x + c) * 3 + label] = 230;
    y = Math.min(size - side, Math.max(0, y + dy));
    x = Math.min(size - side, Math.max(0, x + dx));
  }
  return v;
}

export function toyDataset(n: number, seed: number, config: TrainConfigInput = TOY): VideoDataset {
  const c = parseConfig(config);
  const rng = new Rng(seed);
  const labels = Array.from({ length: n }, (_, i) => i % 3);
  return datasetFromArrays({
    classes: ['red', 'green', 'blue'],
    frames: c.frames,
    size: c.frameSize,
    labels,
    videos: labels.map((l) => toyVideo(l, rng, c.frames, c.frameSize)),
  });
}

/** Videos with their frames in the order the network's steps see them (what train, logitsBatch and classify feed it). */
export function inOrder(net: VideoNet, videos: readonly Uint8Array[]): Uint8Array[] {
  return net.frameOrder ? videos.map((v) => reorderFrames(v, net.frameOrder!)) : [...videos];
}
