/**
 * Checkpoints of the official AdaFocusV2 (LeapLabTHU/AdaFocusV2, the ActivityNet / FCVID /
 * Mini-Kinetics code, `models/adafocus_v2.py`) as a Saccade network. The official model is a
 * MobileNetV2 glance on the whole frames (its own `features.N.conv.K` naming), a torchvision
 * ResNet-50 focus network on the patches, PolicySTN (1x1 conv + BN + tanh, flatten of (C, H, W),
 * linear + BN + tanh, a GRU in r, z, n order, linear + sigmoid) on the glance's last map, and
 * PoolingClassifier (linear + BN + ReLU, a running max over the steps, one linear head per step),
 * with linear heads on the glance and focus vectors. Saccade's `adafocus_v2` with the dense readout
 * on the last map and the classifier's prediction is that network; this maps the names and layouts.
 */
import type * as tf from '@tensorflow/tfjs';
import { WeightMismatchError, type TorchTensor } from '@saccade/backbones';

import type { TrainConfigInput } from '../../config/base.js';
import type { OfficialOptions, OfficialPlan } from '../spec.js';
import { PAPER_V2 } from './paper.js';
import { leapLabIgnored, notOfficial, OfficialLayout, requirePatchSize, shapeOf } from '../official_layout.js';

/** Read the architecture from the state dict; a WeightMismatchError when it is not an official AdaFocusV2 state dict. */
export function planOfficialV2(state: ReadonlyMap<string, TorchTensor>, options: OfficialOptions, source: string): OfficialPlan {
  const need = [
    'global_CNN.features.0.0.weight',
    'global_CNN_fc.1.weight',
    'local_CNN.conv1.weight',
    'local_CNN_fc.1.weight',
    'policy_stn.encoder.0.weight',
    'policy_stn.encoder.4.weight',
    'policy_stn.gru.weight_hh_l0',
    'classifier.mlp.layers.0.weight',
    'classifier.classifiers.0.1.weight',
  ];
  const unfit = notOfficial(
    state,
    need,
    `${source} (official AdaFocusV2)`,
    state.has('global_CNN.conv1.weight')
      ? ['unsupported: the ResNet-50 glance (glance_arch res50) resizes frames bilinearly to 96 px, which Saccade does not']
      : [],
  );
  if (unfit) throw unfit;
  const frameSize = options.frameSize ?? 224;
  const [classes] = shapeOf(state, 'global_CNN_fc.1.weight')!;
  let frames = 0;
  while (state.has(`classifier.classifiers.${frames}.1.weight`)) frames++;
  const encoderChannels = shapeOf(state, 'policy_stn.encoder.0.weight')![0]!;
  if (encoderChannels !== 64)
    throw new WeightMismatchError(source, [
      `shape: policy_stn.encoder.0.weight has ${encoderChannels} output channels; the official PolicySTN (and Saccade's) has 64`,
    ]);
  // The paper's recipe (PAPER_V2: the dense policy on the last map, the classifier's prediction,
  // the random branch, the official optimiser and frames coarse to fine, as its --sample scripts
  // run), at the sizes the state dict says.
  const config: TrainConfigInput = {
    ...PAPER_V2,
    frames,
    frameSize,
    glanceSize: frameSize,
    patchSize: requirePatchSize(options.patchSize, frameSize, 'AdaFocusV2', '96 or 128'),
    glanceBackbone: 'mobilenet_v2',
    glanceWidth: shapeOf(state, 'global_CNN.features.0.0.weight')![0]! / 32,
    focusBackbone: 'resnet50',
    focusWidth: shapeOf(state, 'local_CNN.conv1.weight')![0]! / 64,
    pooling: 'avg',
    pretrained: false,
    classifierWidth: shapeOf(state, 'classifier.mlp.layers.0.weight')![0]!,
    dropout: options.dropout ?? PAPER_V2.dropout,
    policyHidden: shapeOf(state, 'policy_stn.gru.weight_hh_l0')![1]!,
  };
  return { config, classes: classes!, ignored: leapLabIgnored(state) };
}

/**
 * Set the official weights into a network made from `planOfficialV2(...).config`: all of them or,
 * when anything is missing, unexpected or mis-shaped, none (a WeightMismatchError lists every problem
 * by its official name).
 */
export function assignOfficialV2(
  models: Readonly<Record<string, tf.LayersModel>>,
  state: ReadonlyMap<string, TorchTensor>,
  plan: OfficialPlan,
  source: string,
): void {
  const w = new OfficialLayout(state, plan.ignored, `${source} (official AdaFocusV2)`);
  const enc = models['policy_encoder']!;
  const rec = models['policy_recurrent']!;
  w.conv(enc, 'encoder_conv', 'policy_stn.encoder.0.weight');
  w.batchNorm(enc, 'encoder_conv_bn', 'policy_stn.encoder.1');
  const [mh, mw] = enc.inputs[0]!.shape.slice(1) as number[] as [number, number];
  w.flattenedLinear(enc, 'encoder_fc', 'policy_stn.encoder.4', [mh, mw, 64]);
  w.batchNorm(enc, 'encoder_fc_bn', 'policy_stn.encoder.5');
  w.gru(rec, 'policy_stn.gru');
  w.linear(rec, 'policy_head', 'policy_stn.fc.0');
  w.stepClassifier(models['classifier_mlp']!, models['classifier_heads']!, 'classifier.mlp.layers', 'classifier.classifiers');
  w.leapLabBackbones(models);
  w.commit();
}
