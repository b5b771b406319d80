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
