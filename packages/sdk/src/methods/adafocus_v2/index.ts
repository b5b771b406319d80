/** AdaFocusV2 (Wang et al., CVPR 2022), and its random- and centre-patch baselines. */
import type { MethodSpec } from '../spec.js';
import { createAdaFocusV2, type AdaFocusV2Parts } from './network.js';
import { PAPER_V2 } from './paper.js';
import { assignOfficialV2, planOfficialV2 } from './official.js';
import { ADAFOCUS_V2_FIELDS, type AdaFocusV2Config } from './schema.js';

export type { AdaFocusV2Config } from './schema.js';
export { PAPER_V2 } from './paper.js';

export type { AdaFocusV2Parts } from './network.js';

export const ADAFOCUS_V2: MethodSpec<AdaFocusV2Config, AdaFocusV2Parts> = {
  id: 'adafocus_v2',
  label: 'AdaFocusV2',
  variants: [
    { name: 'v2', aliases: ['adafocus_v2'], label: 'AdaFocusV2', config: { method: 'adafocus_v2', patches: 'policy' }, baseline: false },
    { name: 'random', label: 'random patches', config: { method: 'adafocus_v2', patches: 'random' }, baseline: true },
    { name: 'centre', label: 'centre patches', config: { method: 'adafocus_v2', patches: 'centre' }, baseline: true },
    { name: 'paper-v2', label: 'AdaFocusV2, paper config', config: PAPER_V2, baseline: false },
  ],
  fields: ADAFOCUS_V2_FIELDS,
  patches: ['policy', 'random', 'centre'],
  // From pretrained backbones the focus network forgets less of what it knows at x0.2 (chosen on
  // training videos held out from training).
  defaults: (c) => ({ lrFocus: c.pretrained ? 0.2 : 1 }),
  stages: (c) => [{ name: 'train', epochs: c.epochs, parts: ['policy', 'glance', 'focus', 'classifier'] }],
  steps: (c) => c.frames,
  parts: (c) => ({
    glance: { kind: 'backbone' },
    focus: { kind: 'backbone' },
    policy_encoder: { kind: 'network' },
    // The spatial readout is stateless: no recurrent part.
    ...(c.policyReadout === 'dense' ? { policy_recurrent: { kind: 'network' } } : {}),
    classifier_mlp: { kind: 'network' },
    classifier_heads: { kind: 'network', classesOutput: -1 },
  }),
  pretrained: { glance: 'glance', focus: 'focus' },
  create: createAdaFocusV2,
  official: { code: 'LeapLabTHU/AdaFocusV2 (models/adafocus_v2.py)', plan: planOfficialV2, assign: assignOfficialV2 },
};
