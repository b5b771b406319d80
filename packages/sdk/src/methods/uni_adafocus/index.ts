/**
 * Uni-AdaFocus (Wang et al., TPAMI 2024), the public successor of AdaFocus V3: where (a centre and
 * a box size per frame), when (K distinct frames by inverse CDF) and whether to look further (a
 * glance-only exit, then one exit per focus frame).
 */
import type { MethodSpec } from '../spec.js';
import { createUniAdaFocus, type UniAdaFocusParts } from './network.js';
import { assignOfficialUni, planOfficialUni } from './official.js';
import { boxSides, UNI_ADAFOCUS_FIELDS, type UniAdaFocusConfig } from './schema.js';

export type { UniAdaFocusConfig } from './schema.js';
export type { UniAdaFocusParts } from './network.js';

export const UNI_ADAFOCUS: MethodSpec<UniAdaFocusConfig, UniAdaFocusParts> = {
  id: 'uni_adafocus',
  label: 'Uni-AdaFocus',
  variants: [
    {
      name: 'uni',
      aliases: ['uni_adafocus', 'v3'],
      label: 'Uni-AdaFocus (AdaFocus V3)',
      config: { method: 'uni_adafocus', patches: 'policy' },
      baseline: false,
    },
  ],
  fields: UNI_ADAFOCUS_FIELDS,
  patches: ['policy'],
  check(c, issue) {
    if (c.glanceFrames > c.frames) issue('glanceFrames', `must be <= frames (${c.frames}): the glance frames are taken from the video's`);
    if (c.focusFrames > c.frames)
      issue('focusFrames', `must be <= frames (${c.frames}): cannot choose ${c.focusFrames} distinct focus frames out of ${c.frames}`);
    const [lo, hi] = boxSides(c);
    if (!(lo <= hi && hi <= c.frameSize)) issue('sideMin', `the box sides must satisfy sideMin (${lo}) <= sideMax (${hi}) <= frameSize (${c.frameSize})`);
  },
  // As AdaFocusV2's: from pretrained backbones the focus network forgets less of what it knows at x0.2.
  defaults: (c) => ({ lrFocus: c.pretrained ? 0.2 : 1 }),
  stages: (c) => [{ name: 'train', epochs: c.epochs, parts: ['policy', 'glance', 'focus', 'classifier'] }],
  // The temporal policy picks its K frames from all T: the frame order does not apply.
  stepsAreFrames: false,
  steps: (c) => c.focusFrames + 1,
  parts: () => ({
    glance: { kind: 'backbone' },
    focus: { kind: 'backbone' },
    policy_spatial: { kind: 'network' },
    policy_temporal: { kind: 'network' },
    policy_proxy: { kind: 'network' },
    classifier_glance_mlp: { kind: 'network' },
    classifier_glance_heads: { kind: 'network', classesOutput: -1 },
    classifier_focus_mlp: { kind: 'network' },
    classifier_focus_heads: { kind: 'network', classesOutput: -1 },
  }),
  pretrained: { glance: 'glance', focus: 'focus' },
  create: createUniAdaFocus,
  official: { code: 'LeapLabTHU/Uni-AdaFocus (ActivityNet / FCVID / Mini-Kinetics: models/uni_adafocus.py)', plan: planOfficialUni, assign: assignOfficialUni },
};
