/**
 * Checkpoints of the official AdaFocus V1 (blackfeather-wang/AdaFocus, the ActivityNet / FCVID /
 * Mini-Kinetics code: `models/gfv_net.py`, `models/ppo.py`) as a Saccade network. The official
 * model (GFV) is a torchvision-named MobileNetV2 glancer with its class head (`glancer.net`), a
 * torchvision ResNet-50 focuser with its head (`focuser.net`), the PPO actor-critic (1x1 conv to 32
 * channels without bias or batch norm, ReLU, flatten of (C, H, W), linear, ReLU, a GRU in r, z, n
 * order, a softmax actor over a 7 x 7 grid of positions, a linear critic) kept twice
 * (`focuser.policy.policy`, the learner, and `policy_old`, which acts), and a GRU classifier over
 * the concatenated glance and focus vectors (`classifier.gru`, `classifier.fc`). Saccade's
 * `adafocus_v1` with the official encoder, corners floored to a pixel and frames in time order is
 * that network; this maps the names and layouts. The Something-Something code's model (TSM
 * backbones and a linear classifier) is another network: its state dicts are planned as
 * `adafocus_v1_tsm` (methods/adafocus_v1_tsm/official.ts).
 */
import type * as tf from '@tensorflow/tfjs';
import type { TorchTensor } from '@saccade/backbones';
import { WeightMismatchError } from '@saccade/backbones';

import { ConfigError } from '../../errors.js';
import type { TrainConfigInput } from '../../config/base.js';
import type { OfficialOptions, OfficialPlan } from '../spec.js';
import { notOfficial, OfficialLayout, requirePatchSize, shapeOf } from '../official_layout.js';
import { PAPER_V1 } from './paper.js';
import { isSomethingSomethingV1, planOfficialV1Tsm } from '../adafocus_v1_tsm/official.js';

const ACTS = 'focuser.policy.policy_old';
const LEARNS = 'focuser.policy.policy';

/** The actor-critic the official forward pass acts with: `policy_old` (the learner `policy` when only it was saved). */
const policyPrefix = (state: ReadonlyMap<string, TorchTensor>) => (state.has(`${ACTS}.gru.weight_hh_l0`) ? ACTS : LEARNS);

/** Read the architecture from the state dict; a WeightMismatchError when it is not an official AdaFocus V1 (ActivityNet) state dict. */
export function planOfficialV1(state: ReadonlyMap<string, TorchTensor>, options: OfficialOptions, source: string): OfficialPlan {
  const label = `${source} (official AdaFocus V1)`;
  const p = policyPrefix(state);
  // The Something-Something code's model (TSM backbones, one patch position per clip) is adafocus_v1_tsm.
  if (isSomethingSomethingV1(state)) return planOfficialV1Tsm(state, options, source);
  const hints: string[] = [];
  if (shapeOf(state, `${p}.state_encoder.0.weight`)?.length === 2)
    hints.push('unsupported: the linear policy encoder (policy_conv false); the official ActivityNet code uses the 1x1-conv encoder');
  const unfit = notOfficial(
    state,
    [
      'glancer.net.features.0.0.weight',
      'glancer.net.classifier.1.weight',
      'focuser.net.conv1.weight',
      'focuser.net.fc.weight',
      `${p}.state_encoder.0.weight`,
      `${p}.state_encoder.3.weight`,
      `${p}.gru.weight_hh_l0`,
      `${p}.actor.0.weight`,
      `${p}.critic.0.weight`,
      'classifier.gru.weight_hh_l0',
      'classifier.fc.weight',
    ],
    label,
    hints,
  );
  if (unfit) throw unfit;
  if (hints.length > 0) throw new WeightMismatchError(label, hints);
  const frameSize = options.frameSize ?? 224;
  const frames = options.frames ?? 16;
  if (!Number.isInteger(frames) || frames < 1) throw new ConfigError('frames', `must be a positive integer (the model's --num_segments), got ${frames}`);
  const patchSize = requirePatchSize(options.patchSize, frameSize, 'AdaFocus V1', '128, 160 or 192');
  const [classes] = shapeOf(state, 'glancer.net.classifier.1.weight')!;
  const [channels] = shapeOf(state, `${p}.state_encoder.0.weight`)!;
  const [policyHidden, columns] = shapeOf(state, `${p}.state_encoder.3.weight`)!;
  const cells = Math.ceil(frameSize / 32);
  if (columns !== channels! * cells * cells)
    throw new WeightMismatchError(label, [
      `shape: ${p}.state_encoder.3.weight takes ${columns} columns: ${channels} channels x ${Math.sqrt(columns! / channels!).toFixed(2)}² cells, where ${frameSize}px frames (frameSize) give a glance map of ${cells} x ${cells}; the official glance sees the frames at their size (glance_size = input_size)`,
    ]);
  const actions = shapeOf(state, `${p}.actor.0.weight`)![0]!;
  const grid = Math.round(Math.sqrt(actions));
  if (grid * grid !== actions || grid < 2)
    throw new WeightMismatchError(label, [`shape: ${p}.actor.0.weight has ${actions} actions, not a square grid of positions (the official 25, 36, 49 or 64)`]);
  const config: TrainConfigInput = {
    ...PAPER_V1,
    frames,
    frameSize,
    glanceSize: frameSize,
    patchSize,
    glanceBackbone: 'mobilenet_v2',
    glanceWidth: shapeOf(state, 'glancer.net.features.0.0.weight')![0]! / 32,
    focusBackbone: 'resnet50',
    focusWidth: shapeOf(state, 'focuser.net.conv1.weight')![0]! / 64,
    pooling: 'avg',
    pretrained: false,
    grid,
    policyChannels: channels,
    policyHidden,
    classifierWidth: shapeOf(state, 'classifier.gru.weight_hh_l0')![1]!,
  };
  const ignored = [...state.keys()].filter((k) => k.endsWith('num_batches_tracked') || (p === ACTS && k.startsWith(`${LEARNS}.`)));
  return { config, classes: classes!, ignored };
}

/**
 * Set the official weights into a network made from `planOfficialV1(...).config`: all of them or,
 * when anything is missing, unexpected or mis-shaped, none (a WeightMismatchError lists every problem
 * by its official name).
 */
export function assignOfficialV1(
  models: Readonly<Record<string, tf.LayersModel>>,
  state: ReadonlyMap<string, TorchTensor>,
  plan: OfficialPlan,
  source: string,
): void {
  const p = policyPrefix(state);
  const w = new OfficialLayout(state, plan.ignored, `${source} (official AdaFocus V1)`);
  const enc = models['policy_encoder']!;
  const rec = models['policy_recurrent']!;
  const [mh, mw] = enc.inputs[0]!.shape.slice(1) as number[] as [number, number];
  w.conv(enc, 'encoder_conv', `${p}.state_encoder.0.weight`);
  w.flattenedLinear(enc, 'encoder_fc', `${p}.state_encoder.3`, [mh, mw, plan.config['policyChannels'] as number]);
  w.gru(rec, `${p}.gru`);
  w.linear(rec, 'actor', `${p}.actor.0`);
  w.linear(rec, 'critic', `${p}.critic.0`);
  const cls = models['classifier_recurrent']!;
  w.gru(cls, 'classifier.gru');
  w.linear(cls, 'head', 'classifier.fc');
  w.backbone(models['glance']!, 'glancer.net.', { prefix: 'glancer.net.classifier.1', name: 'classifier.1' }, (k) =>
    k.startsWith('classifier.') ? undefined : k,
  );
  w.backbone(models['focus']!, 'focuser.net.', { prefix: 'focuser.net.fc', name: 'fc' }, (k) => (k.startsWith('fc.') ? undefined : k));
  w.commit();
}
