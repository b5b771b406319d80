/** AdaFocus V3 (Wang et al., ECCV 2022): one patch position in K chosen frames (a spatio-temporal cube). */
import type { MethodSpec } from '../spec.js';
import { createAdaFocusV3, type AdaFocusV3Parts } from './network.js';
import { ADAFOCUS_V3_FIELDS, type AdaFocusV3Config } from './schema.js';

export type { AdaFocusV3Config } from './schema.js';
export type { AdaFocusV3Parts } from './network.js';

export const ADAFOCUS_V3: MethodSpec<AdaFocusV3Config, AdaFocusV3Parts> = {
  id: 'adafocus_v3',
  label: 'AdaFocus V3',
  variants: [{ name: 'v3', aliases: ['adafocus_v3'], label: 'AdaFocus V3', config: { method: 'adafocus_v3', patches: 'policy' }, baseline: false }],
  fields: ADAFOCUS_V3_FIELDS,
  patches: ['policy'],
  check(c, issue) {
    if (c.focusFrames > c.frames) issue('focusFrames', `must be <= frames (${c.frames}): cannot choose ${c.focusFrames} focus frames out of ${c.frames}`);
  },
  stages: (c) => [{ name: 'train', epochs: c.epochs, parts: ['policy', 'glance', 'focus', 'classifier'] }],
  // V3's temporal policy picks its K frames from all T: the frame order does not apply.
  stepsAreFrames: false,
  steps: (c) => c.focusFrames,
  parts: () => ({
    glance: { kind: 'backbone' },
    focus: { kind: 'backbone' },
    policy_spatial: { kind: 'network' },
    policy_temporal: { kind: 'network' },
    policy_proxy: { kind: 'network' },
    classifier_mlp: { kind: 'network' },
    classifier_heads: { kind: 'network', classesOutput: -1 },
  }),
  pretrained: { glance: 'glance', focus: 'focus' },
  create: createAdaFocusV3,
};
