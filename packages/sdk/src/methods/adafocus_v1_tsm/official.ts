/**
 * Checkpoints of the official AdaFocus V1 Something-Something code (blackfeather-wang/AdaFocus,
 * "Experiments on Something-Something V1&V2": models/gfv_net.py, ppo_continuous.py, tsn.py,
 * mobilenetv2.py, ops/temporal_shift.py) as an `adafocus_v1_tsm` network. The training scripts save
 * `{model_state_dict, glancer, focuser, fc, policy, ...}`; the model's state dict holds the glancer
 * (`glancer.net`: MobileNetV2 in `features.N.conv.K` naming whose expanding residual blocks wrap
 * their first conv in a TemporalShift, hence `conv.0.net.weight`), the focuser (`focuser.net.base_model`:
 * torchvision's ResNet-50 with every block's conv1 wrapped the same way) and the linear classifier
 * over the focus vectors (`classifier`); the PPO actor-critic is not a module of the model and
 * comes from the checkpoint's `policy` entry (read as `policy.*`): a 1x1 conv to 64 channels with
 * batch norm (actorcritic_with_bn), flatten of (C, H, W), linear with batch norm, a GRU in r, z, n
 * order, the actor (2 sigmoid outputs: continuous; else a square grid of positions) and critic.
 */
import type * as tf from '@tensorflow/tfjs';
import type { TorchTensor } from '@saccade/backbones';
import { WeightMismatchError } from '@saccade/backbones';

import { ConfigError } from '../../errors.js';
import type { TrainConfigInput } from '../../config/base.js';
import type { OfficialOptions, OfficialPlan } from '../spec.js';
import { notOfficial, officialMobileNetName, OfficialLayout, requirePatchSize, shapeOf } from '../official_layout.js';

const GLANCE = 'glancer.net.';
const FOCUS = 'focuser.net.base_model.';
const POLICY = 'policy';

/** Whether a state dict is the Something-Something model's (its TSN-wrapped focuser). */
export const isSomethingSomethingV1 = (state: ReadonlyMap<string, TorchTensor>): boolean => state.has(`${FOCUS}conv1.weight`);

/** The policy's layer keys: with batch norm (actorcritic_with_bn) the linear layer is state_encoder.4, else .3. */
function encoderKeys(state: ReadonlyMap<string, TorchTensor>): { norm: boolean; linear: string } {
  const norm = shapeOf(state, `${POLICY}.state_encoder.1.weight`)?.length === 1;
  return { norm, linear: `${POLICY}.state_encoder.${norm ? 4 : 3}` };
}

/** Read the architecture from the state dict; a WeightMismatchError when it is not the official Something-Something AdaFocus V1. */
export function planOfficialV1Tsm(state: ReadonlyMap<string, TorchTensor>, options: OfficialOptions, source: string): OfficialPlan {
  const label = `${source} (official AdaFocus V1, Something-Something)`;
  const hints: string[] = [];
  if (shapeOf(state, `${POLICY}.state_encoder.0.weight`)?.length === 2)
    hints.push('unsupported: the linear policy encoder (policy_conv false); the official Something-Something configs use the 1x1-conv encoder');
  const { norm, linear } = encoderKeys(state);
  const unfit = notOfficial(
    state,
    [
      `${GLANCE}features.0.0.weight`,
      `${GLANCE}classifier.weight`,
      `${FOCUS}conv1.weight`,
      'classifier.weight',
      `${POLICY}.state_encoder.0.weight`,
      `${linear}.weight`,
      `${POLICY}.gru.weight_hh_l0`,
      `${POLICY}.actor.0.weight`,
      `${POLICY}.critic.0.weight`,
    ],
    label,
    hints,
  );
  if (unfit) throw unfit;
  if (hints.length > 0) throw new WeightMismatchError(label, hints);
  const frameSize = options.frameSize ?? 224;
  const glanceSize = options.glanceSize ?? frameSize;
  const frames = options.frames ?? 12;
  const shiftDiv = options.shiftDiv ?? 8;
  for (const [field, v] of [
    ['frames', frames],
    ['glanceSize', glanceSize],
    ['shiftDiv', shiftDiv],
  ] as const)
    if (!Number.isInteger(v) || v < 1) throw new ConfigError(field, `must be a positive integer, got ${v}`);
  const patchSize = requirePatchSize(options.patchSize, frameSize, 'AdaFocus V1 (Something-Something)', '96, 128 or 160');
  const [classes] = shapeOf(state, `${GLANCE}classifier.weight`)!;
  const last = shapeOf(state, `${GLANCE}features.18.0.weight`)?.[0] ?? 1280;
  const [channels, stacked] = shapeOf(state, `${POLICY}.state_encoder.0.weight`)!;
  const glanceFrames = stacked! / last;
  if (!Number.isInteger(glanceFrames) || glanceFrames < 1)
    throw new WeightMismatchError(label, [
      `shape: ${POLICY}.state_encoder.0.weight reads ${stacked} channels, not a whole number of ${last}-channel glance maps`,
    ]);
  if (glanceFrames > frames)
    throw new ConfigError(
      'frames',
      `the policy reads ${glanceFrames} glance frames (num_segments_glancer), more than the ${frames} focus frames given (--frames)`,
    );
  const [policyHidden, columns] = shapeOf(state, `${linear}.weight`)!;
  const cells = Math.ceil(glanceSize / 32);
  if (columns !== channels! * cells * cells)
    throw new WeightMismatchError(label, [
      `shape: ${linear}.weight takes ${columns} columns: ${channels} channels x ${Math.sqrt(columns! / channels!).toFixed(2)}² cells, where a ${glanceSize}px glance (glanceSize) gives a map of ${cells} x ${cells}`,
    ]);
  const actions = shapeOf(state, `${POLICY}.actor.0.weight`)![0]!;
  const grid = Math.round(Math.sqrt(actions));
  if (actions !== 2 && (grid * grid !== actions || grid < 2))
    throw new WeightMismatchError(label, [
      `shape: ${POLICY}.actor.0.weight has ${actions} outputs: neither a continuous centre (2) nor a square grid of positions`,
    ]);
  const config: TrainConfigInput = {
    method: 'adafocus_v1_tsm',
    patches: 'policy',
    frames,
    glanceFrames,
    frameSize,
    glanceSize,
    patchSize,
    shiftDiv,
    glanceBackbone: 'mobilenet_v2',
    glanceWidth: shapeOf(state, `${GLANCE}features.0.0.weight`)![0]! / 32,
    focusBackbone: 'resnet50',
    focusWidth: shapeOf(state, `${FOCUS}conv1.weight`)![0]! / 64,
    pooling: 'avg',
    pretrained: false,
    withGlance: true,
    action: actions === 2 ? 'continuous' : 'discrete',
    ...(actions === 2 ? {} : { grid }),
    policyChannels: channels,
    policyNorm: norm,
    policyHidden,
    dropout: options.dropout ?? 0.5,
    frameOrder: 'chronological',
    // The official Something-Something recipe: SGD 0.9, weight decay 1e-4; PPO with Adam 3e-4.
    optimizer: 'sgd',
    momentum: 0.9,
    weightDecay: 1e-4,
    ppoAdamLr: 3e-4,
  };
  // The ImageNet head torchvision's ResNet-50 keeps (never in the forward pass, whose classifier
  // reads the 2048-wide vector) and BN counters are left out.
  const ignored = [...state.keys()].filter((k) => k.startsWith(`${FOCUS}fc.`) || k.endsWith('num_batches_tracked'));
  return { config, classes: classes!, ignored };
}

/** Set the official weights into a network made from `planOfficialV1Tsm(...).config`: all or none. */
export function assignOfficialV1Tsm(
  models: Readonly<Record<string, tf.LayersModel>>,
  state: ReadonlyMap<string, TorchTensor>,
  plan: OfficialPlan,
  source: string,
): void {
  const w = new OfficialLayout(state, plan.ignored, `${source} (official AdaFocus V1, Something-Something)`);
  const { norm, linear } = encoderKeys(state);
  const enc = models['policy_encoder']!;
  const rec = models['policy_recurrent']!;
  const [mh, mw] = enc.inputs[0]!.shape.slice(1) as number[] as [number, number];
  w.conv(enc, 'encoder_conv', `${POLICY}.state_encoder.0.weight`);
  if (norm) w.batchNorm(enc, 'encoder_conv_bn', `${POLICY}.state_encoder.1`);
  w.flattenedLinear(enc, 'encoder_fc', linear, [mh, mw, plan.config['policyChannels'] as number]);
  if (norm) w.batchNorm(enc, 'encoder_fc_bn', `${POLICY}.state_encoder.5`);
  w.gru(rec, `${POLICY}.gru`);
  w.linear(rec, 'actor', `${POLICY}.actor.0`);
  w.linear(rec, 'critic', `${POLICY}.critic.0`);
  // TemporalShift wraps a conv as its `net`: the weights are the conv's.
  const unwrap = (k: string) => k.replace(/\.net\.(weight|bias)$/, '.$1');
  w.backbone(models['glance']!, GLANCE, { prefix: `${GLANCE}classifier`, name: 'classifier.1' }, (k) => officialMobileNetName(unwrap(k), state, GLANCE));
  w.backbone(models['focus']!, FOCUS, { prefix: 'classifier', name: 'fc' }, (k) => unwrap(k));
  w.commit();
}
