/**
 * Checkpoints of the official Uni-AdaFocus (LeapLabTHU/Uni-AdaFocus, the ActivityNet / FCVID /
 * Mini-Kinetics code, `models/uni_adafocus.py`) as a Saccade network: the MobileNetV2 glance
 * (`global_CNN`, its own `features.N.conv.K` names) with its head `global_CNN_fc` and the spatial
 * proxy's head `aux_fc`, the torchvision ResNet-50 focus network (`local_CNN`, head `local_CNN_fc`),
 * SpatialPolicy (`spatial_policy.encoder`: Conv3d / BatchNorm3d at indices 0, 1, 3, 4, 6, 7, 9),
 * TemporalPolicy (`temporal_policy.Tconv`: (3, 1) Conv2d over time and BatchNorm2d at 0, 1, 3, 4, 6)
 * and PoolingClassifier (`classifier.global_mlp` / `local_mlp` linear + BN + ReLU,
 * `global_classifiers.i.1` / `local_classifiers.j.1`). Saccade's `uni_adafocus` is that network.
 */
import * as tf from '@tensorflow/tfjs';
import { WeightMismatchError, type TorchTensor } from '@saccade/backbones';

import type { TrainConfigInput } from '../../config/base.js';
import type { OfficialOptions, OfficialPlan } from '../spec.js';
import { leapLabIgnored, notOfficial, OfficialLayout, requirePatchSize, shapeOf } from '../official_layout.js';

/** Read the architecture from the state dict; a WeightMismatchError when it is not an official Uni-AdaFocus state dict. */
export function planOfficialUni(state: ReadonlyMap<string, TorchTensor>, options: OfficialOptions, source: string): OfficialPlan {
  const need = [
    'global_CNN.features.0.0.weight',
    'global_CNN_fc.1.weight',
    'aux_fc.weight',
    'local_CNN.conv1.weight',
    'local_CNN_fc.1.weight',
    'spatial_policy.encoder.0.weight',
    'spatial_policy.encoder.9.weight',
    'temporal_policy.Tconv.0.weight',
    'temporal_policy.Tconv.6.weight',
    'classifier.global_mlp.layers.0.weight',
    'classifier.local_mlp.layers.0.weight',
    'classifier.global_classifiers.0.1.weight',
    'classifier.local_classifiers.0.1.weight',
  ];
  const unfit = notOfficial(
    state,
    need,
    `${source} (official Uni-AdaFocus)`,
    state.has('global_CNN.conv1.weight') ? ['unsupported: the ResNet-50 glance (glance_arch res50); the official MobileNetV2 glance is'] : [],
  );
  if (unfit) throw unfit;
  const frameSize = options.frameSize ?? 224;
  const [classes] = shapeOf(state, 'global_CNN_fc.1.weight')!;
  const count = (prefix: string) => {
    let n = 0;
    while (state.has(`${prefix}.${n}.1.weight`)) n++;
    return n;
  };
  const glanceFrames = count('classifier.global_classifiers');
  const focusFrames = count('classifier.local_classifiers');
  const frames = options.frames ?? 48;
  if (Math.floor(frames / glanceFrames) < 2)
    throw new WeightMismatchError(source, [
      `frames: the official evaluation glances at arange(T)[1::T // Tg]: with ${glanceFrames} glance classifiers it needs at least ${2 * glanceFrames} frames (--frames; official 48), got ${frames}`,
    ]);
  const spatial = shapeOf(state, 'spatial_policy.encoder.9.weight')!;
  const cells = Math.ceil(frameSize / 32);
  if (spatial[3] !== cells || spatial[4] !== cells)
    throw new WeightMismatchError(source, [
      `shape: spatial_policy.encoder.9.weight [${spatial}] reads ${spatial[3]} x ${spatial[4]} glance maps; ${frameSize}-px frames give ${cells} x ${cells} (--frame-size)`,
    ]);
  const config: TrainConfigInput = {
    method: 'uni_adafocus',
    patches: 'policy',
    frames,
    frameSize,
    glanceSize: frameSize,
    patchSize: requirePatchSize(options.patchSize, frameSize, 'Uni-AdaFocus', '128 (96 to 192 in its early-exit tables)'),
    glanceBackbone: 'mobilenet_v2',
    glanceWidth: shapeOf(state, 'global_CNN.features.0.0.weight')![0]! / 32,
    focusBackbone: 'resnet50',
    focusWidth: shapeOf(state, 'local_CNN.conv1.weight')![0]! / 64,
    pooling: 'avg',
    pretrained: false,
    classifierWidth: shapeOf(state, 'classifier.global_mlp.layers.0.weight')![0]!,
    dropout: options.dropout ?? 0.2,
    glanceFrames,
    focusFrames,
    spatialHidden: spatial[1]!,
    temporalHidden: shapeOf(state, 'temporal_policy.Tconv.0.weight')![0]!,
    sideMin: options.sideMin ?? 96,
    sideMax: options.sideMax ?? 224,
    prediction: 'classifier',
    spatialPrior: 0,
    temporalPrior: 0,
    spatialGradient: 'proxy',
    randomBranch: true,
    frameOrder: 'chronological',
  };
  return { config, classes: classes!, ignored: leapLabIgnored(state) };
}

/** Set the official weights into a network made from `planOfficialUni(...).config`: all of them or none (a WeightMismatchError lists every problem). */
export function assignOfficialUni(
  models: Readonly<Record<string, tf.LayersModel>>,
  state: ReadonlyMap<string, TorchTensor>,
  plan: OfficialPlan,
  source: string,
): void {
  const w = new OfficialLayout(state, plan.ignored, `${source} (official Uni-AdaFocus)`);
  const spatial = models['policy_spatial']!;
  const temporal = models['policy_temporal']!;
  // Conv3d [O, I, kt, kh, kw] -> tfjs [kt, kh, kw, I, O].
  for (const i of [0, 3, 6, 9])
    w.layer(spatial, `encoder_${i}`, [`spatial_policy.encoder.${i}.weight`], (ts) => [
      () => tf.tidy(() => tf.transpose(tf.tensor(ts[0]!.data, ts[0]!.shape), [2, 3, 4, 1, 0])),
    ]);
  for (const i of [1, 4, 7]) w.batchNorm(spatial, `encoder_${i}`, `spatial_policy.encoder.${i}`);
  // Conv2d over (time, 1) [O, I, k, 1] -> tfjs conv1d [k, I, O].
  for (const i of [0, 3, 6])
    w.layer(temporal, `Tconv_${i}`, [`temporal_policy.Tconv.${i}.weight`], (ts) => [
      () =>
        tf.tidy(() => {
          const [o, inp, kt, kw] = ts[0]!.shape as [number, number, number, number];
          if (kw !== 1) return tf.tensor(ts[0]!.data, ts[0]!.shape); // reported as a shape mismatch
          return tf.transpose(tf.reshape(tf.tensor(ts[0]!.data, ts[0]!.shape), [o, inp, kt]), [2, 1, 0]);
        }),
    ]);
  for (const i of [1, 4]) w.batchNorm(temporal, `Tconv_${i}`, `temporal_policy.Tconv.${i}`);
  w.linear(models['policy_proxy']!, 'proxy_head', 'aux_fc');
  w.stepClassifier(models['classifier_glance_mlp']!, models['classifier_glance_heads']!, 'classifier.global_mlp.layers', 'classifier.global_classifiers');
  w.stepClassifier(models['classifier_focus_mlp']!, models['classifier_focus_heads']!, 'classifier.local_mlp.layers', 'classifier.local_classifiers');
  w.leapLabBackbones(models);
  w.commit();
}
