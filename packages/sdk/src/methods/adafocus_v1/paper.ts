/**
 * The paper's AdaFocus V1 configuration (its official ActivityNet code and README scripts) on
 * Saccade's backbones: stage 0 fine-tuning the glance and focus backbones as frame classifiers;
 * stage 1 the focus network and the recurrent classifier on random patches, trained by the
 * classifier's loss alone; stage 2 PPO with Adam at 3e-4 (no schedule), the reward against the same
 * history with one random patch at the step; stage 3 the classifier on the policy's most likely
 * patches. The policy encoder is the official one (1x1 conv to 32 channels, no batch norm) on a
 * 7 x 7 grid of positions, corners floored to a pixel; SGD with momentum 0.9 and weight decay 1e-4
 * at stage 1's rates (backbones 5e-4, classifier 0.05: x100) and stage 0's for the glance (0.01:
 * x20); frames in time order, as the official V1 code reads them. The SDK README's table sets it
 * beside Saccade's defaults, with figures.
 */
export const PAPER_V1 = {
  method: 'adafocus_v1',
  patches: 'policy',
  action: 'discrete',
  grid: 7,
  policyChannels: 32,
  policyNorm: false,
  patchSnap: 'floor',
  backboneEpochs: 1,
  focusHeadLoss: false,
  reward: 'random-patch',
  finetunePatches: 'best',
  ppoAdamLr: 3e-4,
  gamma: 0.7,
  ppoClip: 0.2,
  valueCoef: 0.5,
  entropyCoef: 0.01,
  optimizer: 'sgd',
  momentum: 0.9,
  weightDecay: 1e-4,
  lr: 5e-4,
  lrGlance: 20,
  lrFocus: 1,
  lrClassifier: 100,
  frameOrder: 'chronological',
} as const;
