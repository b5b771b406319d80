/** The glance-only baseline: the glance backbone on every downscaled frame, logits averaged over the frames seen. */
import type { TrainConfig } from '../../config/base.js';
import { createFrameBaseline, type FrameBaselineParts } from '../frames.js';
import type { MethodSpec } from '../spec.js';

export const GLANCE: MethodSpec<TrainConfig & { method: 'glance' }, FrameBaselineParts> = {
  id: 'glance',
  label: 'glance only',
  variants: [{ name: 'glance', label: 'glance only', config: { method: 'glance' }, baseline: true }],
  fields: {},
  stages: (c) => [{ name: 'train', epochs: c.epochs, parts: ['glance'] }],
  steps: (c) => c.frames,
  parts: () => ({ frames: { kind: 'backbone' } }),
  pretrained: { glance: 'frames' },
  create: (c, classes, loaded) => createFrameBaseline(c, classes, 'glance', loaded),
};
