/** The uniform baseline (TSN): the focus backbone on every whole frame, logits averaged over the frames seen. */
import type { TrainConfig } from '../../config/base.js';
import { createFrameBaseline, type FrameBaselineParts } from '../frames.js';
import type { MethodSpec } from '../spec.js';

export const UNIFORM: MethodSpec<TrainConfig & { method: 'uniform' }, FrameBaselineParts> = {
  id: 'uniform',
  label: 'uniform (full frames)',
  variants: [{ name: 'uniform', label: 'uniform (full frames)', config: { method: 'uniform' }, baseline: true }],
  fields: {},
  // Its full-resolution frames through the focus network fit wasm's 4 GB heap at 128 px in chunks of 2 videos.
  defaults: () => ({ microBatch: 2 }),
  stages: (c) => [{ name: 'train', epochs: c.epochs, parts: ['focus'] }],
  steps: (c) => c.frames,
  parts: () => ({ frames: { kind: 'backbone' } }),
  pretrained: { focus: 'frames' },
  create: (c, classes, loaded) => createFrameBaseline(c, classes, 'focus', loaded),
};
