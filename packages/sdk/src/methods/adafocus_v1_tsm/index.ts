/**
 * AdaFocus V1 as its official Something-Something code builds it: TSM backbones that see the clip
 * at once, one patch position per clip from a PPO policy (continuous, as the paper's
 * Something-Something setting), and the prediction as the heads' averages over the frames.
 */
import type { MethodSpec } from '../spec.js';
import { createAdaFocusV1Tsm, tsmStages, type AdaFocusV1TsmParts } from './network.js';
import { ADAFOCUS_V1_TSM_FIELDS, type AdaFocusV1TsmConfig } from './schema.js';
import { assignOfficialV1Tsm, planOfficialV1Tsm } from './official.js';

export type { AdaFocusV1TsmConfig } from './schema.js';
export type { AdaFocusV1TsmParts } from './network.js';
export { glanceIndices } from './network.js';

export const ADAFOCUS_V1_TSM: MethodSpec<AdaFocusV1TsmConfig, AdaFocusV1TsmParts> = {
  id: 'adafocus_v1_tsm',
  label: 'AdaFocus V1 (TSM, Something-Something)',
  variants: [
    { name: 'v1-tsm', aliases: ['adafocus_v1_tsm'], label: 'AdaFocus V1 (TSM)', config: { method: 'adafocus_v1_tsm', patches: 'policy' }, baseline: false },
    { name: 'v1-tsm-random', label: 'AdaFocus V1 (TSM), random patches', config: { method: 'adafocus_v1_tsm', patches: 'random' }, baseline: true },
  ],
  fields: ADAFOCUS_V1_TSM_FIELDS,
  patches: ['policy', 'random'],
  check(c, issue) {
    if (c.glanceFrames > c.frames) issue('glanceFrames', `must be <= frames (${c.frames}): the glance frames are taken from the clip's`);
    if (c.action === 'discrete' && c.grid - 1 > c.frameSize - c.patchSize)
      issue(
        'grid',
        `a ${c.grid} x ${c.grid} grid of ${c.patchSize}px patches does not fit a ${c.frameSize}px frame (at most ${c.frameSize - c.patchSize + 1} positions per side)`,
      );
  },
  stages: (c) => tsmStages(c).map(({ kind: _kind, ...stage }) => stage),
  // The TSM backbones see the whole clip in time order: one step, and the frame order does not apply.
  stepsAreFrames: false,
  steps: () => 1,
  parts: () => ({
    glance: { kind: 'backbone' },
    focus: { kind: 'backbone' },
    policy_encoder: { kind: 'network' },
    policy_recurrent: { kind: 'network' },
  }),
  pretrained: { glance: 'glance', focus: 'focus' },
  create: createAdaFocusV1Tsm,
  official: {
    code: 'blackfeather-wang/AdaFocus (Something-Something V1 and V2: models/gfv_net.py, TSM)',
    plan: planOfficialV1Tsm,
    assign: assignOfficialV1Tsm,
  },
};
