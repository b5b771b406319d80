/** AdaFocusV2 (Wang et al., CVPR 2022), and its random- and centre-patch baselines. */
import type { MethodSpec } from '../spec.js';
import { createAdaFocusV2, type AdaFocusV2Parts } from './network.js';
import { assignOfficialV2, planOfficialV2 } from './official.js';
import { ADAFOCUS_V2_FIELDS, type AdaFocusV2Config } from './schema.js';

export type { AdaFocusV2Config } from './schema.js';

/**
 * The paper's AdaFocusV2 configuration (its official ActivityNet script, scripts/train.sh) on
 * Saccade's backbones: the dense PolicySTN on the glance's last map, the step classifier's
 * prediction, the random-centre branch training the classifier and the focus head, SGD with
 * momentum 0.9 and weight decay 1e-4, lr 2e-3 with a cosine schedule and the official multipliers
 * (policy x0.1, glance x0.5, focus x1, classifier x5), dropout 0.2 before the step heads, frames
 * coarse to fine. The SDK README's table sets it beside Saccade's defaults, with figures.
 */
export const PAPER_V2 = {
  method: 'adafocus_v2',
  patches: 'policy',
  policyReadout: 'dense',
  policyMap: 'last',
  prediction: 'classifier',
  randomBranch: 'all',
  optimizer: 'sgd',
  momentum: 0.9,
  weightDecay: 1e-4,
  lr: 2e-3,
  lrPolicy: 0.1,
  lrGlance: 0.5,
  lrFocus: 1,
  lrClassifier: 5,
  dropout: 0.2,
  frameOrder: 'coarse-to-fine',
} as const;
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
