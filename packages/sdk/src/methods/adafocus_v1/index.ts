/** AdaFocus V1 (Wang et al., ICCV 2021): a PPO policy over a grid of patch positions, trained in three stages. */
import type { MethodSpec } from '../spec.js';
import { createAdaFocusV1, type AdaFocusV1Parts } from './network.js';
import { v1Stages } from './stages.js';
import { PAPER_V1 } from './paper.js';
import { assignOfficialV1, planOfficialV1 } from './official.js';
import { ADAFOCUS_V1_FIELDS, type AdaFocusV1Config } from './schema.js';

export type { AdaFocusV1Config } from './schema.js';
export type { AdaFocusV1Parts } from './network.js';
export { policyRewards, v1Action } from './network.js';
export { PAPER_V1 } from './paper.js';

export const ADAFOCUS_V1: MethodSpec<AdaFocusV1Config, AdaFocusV1Parts> = {
  id: 'adafocus_v1',
  label: 'AdaFocus V1',
  variants: [
    { name: 'v1', aliases: ['adafocus_v1'], label: 'AdaFocus V1', config: { method: 'adafocus_v1', patches: 'policy' }, baseline: false },
    { name: 'v1-random', label: 'AdaFocus V1, random patches', config: { method: 'adafocus_v1', patches: 'random' }, baseline: true },
    { name: 'paper-v1', label: 'AdaFocus V1, paper config', config: PAPER_V1, baseline: false },
  ],
  fields: ADAFOCUS_V1_FIELDS,
  patches: ['policy', 'random'],
  check(c, issue) {
    // Grid cells are (frameSize - patchSize) / (grid - 1) pixels apart: less than one pixel and two cells are the same patch.
    if (c.action === 'discrete' && c.grid - 1 > c.frameSize - c.patchSize)
      issue(
        'grid',
        `a ${c.grid} x ${c.grid} grid of ${c.patchSize}px patches does not fit a ${c.frameSize}px frame (at most ${c.frameSize - c.patchSize + 1} positions per side)`,
      );
  },
  stages: (c) => v1Stages(c).map(({ kind: _kind, ...stage }) => stage),
  steps: (c) => c.frames,
  parts: () => ({
    glance: { kind: 'backbone' },
    focus: { kind: 'backbone' },
    policy_encoder: { kind: 'network' },
    policy_recurrent: { kind: 'network' },
    // Its recurrent classifier returns [logits, state].
    classifier_recurrent: { kind: 'network', classesOutput: 0 },
  }),
  pretrained: { glance: 'glance', focus: 'focus' },
  create: createAdaFocusV1,
  official: { code: 'blackfeather-wang/AdaFocus (ActivityNet, FCVID, Mini-Kinetics: models/gfv_net.py)', plan: planOfficialV1, assign: assignOfficialV1 },
};
