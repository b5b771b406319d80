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
import * as tf from '@tensorflow/tfjs';
import { loadTorchvisionState, WeightMismatchError, type TorchTensor } from '@saccade/backbones';

import { ConfigError } from '../../errors.js';
import type { TrainConfigInput } from '../../config/base.js';
import type { OfficialOptions, OfficialPlan } from '../spec.js';
import { PAPER_V2 } from './paper.js';

export interface OfficialV2Options extends OfficialOptions {
  /** The patch size the model was trained with (`--patch_size`: 96 or 128 in the paper); a state dict cannot tell it. */
  patchSize?: number;
  /** The frames' side (`--input_size`, default 224): the glance's map must have the policy's cells. */
  frameSize?: number;
  /** Dropout before the step heads (the official scripts' `--dropout 0.2`), for further training; inference ignores it. */
  dropout?: number;
}

const shapeOf = (state: ReadonlyMap<string, TorchTensor>, key: string) => state.get(key)?.shape;

/** The official MobileNetV2 name of a glance weight -> torchvision's (which @saccade/backbones maps), or undefined for the ImageNet head. */
function mobilenetName(key: string, state: ReadonlyMap<string, TorchTensor>): string | undefined {
  const m = /^features\.(\d+)\.conv\.(\d+)\.(.+)$/.exec(key);
  if (!m) return key.startsWith('classifier.') ? undefined : key;
  const [block, index, param] = [m[1]!, Number(m[2]), m[3]!];
  const expands = state.has(`global_CNN.features.${block}.conv.6.weight`);
  const map = expands ? ['conv.0.0', 'conv.0.1', '', 'conv.1.0', 'conv.1.1', '', 'conv.2', 'conv.3'] : ['conv.0.0', 'conv.0.1', '', 'conv.1', 'conv.2'];
  const module = map[index];
  return module ? `features.${block}.${module}.${param}` : `features.${block}.conv.${index}.${param}`;
}

/** Read the architecture from the state dict; a WeightMismatchError when it is not an official AdaFocusV2 state dict. */
export function planOfficialV2(state: ReadonlyMap<string, TorchTensor>, options: OfficialV2Options, source: string): OfficialPlan {
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
  const missing = need.filter((k) => !state.has(k));
  if (missing.length > 0) {
    const problems = missing.map((k) => `missing: ${k}`);
    if (state.has('global_CNN.conv1.weight'))
      problems.unshift('unsupported: the ResNet-50 glance (glance_arch res50) resizes frames bilinearly to 96 px, which Saccade does not');
    const keys = [...state.keys()];
    problems.push(`the checkpoint's ${keys.length} keys begin: ${keys.slice(0, 8).join(', ')}${keys.length > 8 ? ', ...' : ''}`);
    throw new WeightMismatchError(`${source} (official AdaFocusV2)`, problems);
  }
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
    patchSize: options.patchSize,
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
  if (options.patchSize === undefined || !(options.patchSize > 0 && options.patchSize <= frameSize))
    throw new ConfigError(
      'patchSize',
      `must be given for an official AdaFocusV2 checkpoint (its --patch_size, 96 or 128 in the paper), in 1..${frameSize}, got ${options.patchSize}`,
    );
  const ignored = [...state.keys()].filter((k) => /^(global_CNN\.classifier\.|local_CNN\.fc\.)/.test(k) || k.endsWith('num_batches_tracked'));
  return { config, classes: classes!, ignored };
}

/** torch layouts -> tfjs: conv [O, I, kh, kw] -> [kh, kw, I, O], linear [O, I] -> [I, O]. */
function tensorOf(t: TorchTensor, layout: 'conv' | 'linear' | 'vector'): tf.Tensor {
  return tf.tidy(() => {
    const x = tf.tensor(t.data, t.shape);
    return layout === 'conv' ? tf.transpose(x, [2, 3, 1, 0]) : layout === 'linear' ? tf.transpose(x) : x;
  });
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
  const problems: string[] = [];
  const used = new Set<string>(plan.ignored);
  const get = (key: string): TorchTensor | undefined => {
    const t = state.get(key);
    if (!t) problems.push(`missing: ${key}`);
    else used.add(key);
    return t;
  };
  // Sub-networks that are not backbones: every layer's weights, in tfjs order, from official keys.
  const plans: { model: tf.LayersModel; layer: string; values: (() => tf.Tensor)[]; keys: string[] }[] = [];
  const layer = (model: tf.LayersModel, name: string, keys: string[], make: (ts: TorchTensor[]) => (() => tf.Tensor)[]) => {
    const ts = keys.map(get);
    if (ts.every((t) => t)) plans.push({ model, layer: name, values: make(ts as TorchTensor[]), keys });
  };
  const bn = (prefix: string) => [`${prefix}.weight`, `${prefix}.bias`, `${prefix}.running_mean`, `${prefix}.running_var`];
  const vectors = (ts: TorchTensor[]) => ts.map((t) => () => tensorOf(t, 'vector'));
  const linear = (ts: TorchTensor[]) => [() => tensorOf(ts[0]!, 'linear'), () => tensorOf(ts[1]!, 'vector')];
  const enc = models['policy_encoder']!;
  const rec = models['policy_recurrent']!;
  layer(enc, 'encoder_conv', ['policy_stn.encoder.0.weight'], (ts) => [() => tensorOf(ts[0]!, 'conv')]);
  layer(enc, 'encoder_conv_bn', bn('policy_stn.encoder.1'), vectors);
  // The flatten: torch's columns run over (channel, row, column), Saccade's over (row, column, channel).
  const [mh, mw] = enc.inputs[0]!.shape.slice(1) as number[] as [number, number];
  layer(enc, 'encoder_fc', ['policy_stn.encoder.4.weight', 'policy_stn.encoder.4.bias'], (ts) => [
    () =>
      tf.tidy(() => {
        const w = tf.tensor(ts[0]!.data, ts[0]!.shape);
        const [out, cols] = ts[0]!.shape as [number, number];
        if (cols !== 64 * mh * mw) return tf.transpose(w); // reported as a shape mismatch below
        return tf.reshape(tf.transpose(tf.reshape(w, [out, 64, mh, mw]), [2, 3, 1, 0]), [mh * mw * 64, out]);
      }),
    () => tensorOf(ts[1]!, 'vector'),
  ]);
  layer(enc, 'encoder_fc_bn', bn('policy_stn.encoder.5'), vectors);
  // The GRU: torch stacks the gates r, z, n in weight_ih_l0 / weight_hh_l0 and their biases.
  for (const [side, suffix] of [
    ['x', 'ih'],
    ['h', 'hh'],
  ] as const) {
    ['r', 'z', 'n'].forEach((gate, g) => {
      layer(rec, `gru_${side}_${gate}`, [`policy_stn.gru.weight_${suffix}_l0`, `policy_stn.gru.bias_${suffix}_l0`], (ts) => {
        const h = ts[0]!.shape[0]! / 3;
        return [
          () => tf.tidy(() => tf.transpose(tf.slice(tf.tensor(ts[0]!.data, ts[0]!.shape), [g * h, 0], [h, -1]))),
          () => tf.tidy(() => tf.slice(tf.tensor(ts[1]!.data, ts[1]!.shape), [g * h], [h])),
        ];
      });
    });
  }
  layer(rec, 'policy_head', ['policy_stn.fc.0.weight', 'policy_stn.fc.0.bias'], linear);
  const mlp = models['classifier_mlp']!;
  const heads = models['classifier_heads']!;
  layer(mlp, 'mlp_fc', ['classifier.mlp.layers.0.weight', 'classifier.mlp.layers.0.bias'], linear);
  layer(mlp, 'mlp_bn', bn('classifier.mlp.layers.1'), vectors);
  const steps = heads.layers.filter((l) => /^head_\d+$/.test(l.name)).length;
  for (let k = 0; k < steps; k++) layer(heads, `head_${k}`, [`classifier.classifiers.${k}.1.weight`, `classifier.classifiers.${k}.1.bias`], linear);

  // The backbones through @saccade/backbones' torchvision mapping (the glance's names translated first).
  const backbone = (prefix: string, headPrefix: string, headName: string, rename: (k: string) => string | undefined) => {
    const entries = new Map<string, TorchTensor>();
    const official = new Map<string, string>();
    for (const [k, t] of state) {
      if (!k.startsWith(prefix) || used.has(k)) continue;
      const name = rename(k.slice(prefix.length));
      if (name === undefined) continue;
      entries.set(name, t);
      official.set(name, k);
      used.add(k);
    }
    for (const p of ['weight', 'bias']) {
      const t = get(`${headPrefix}.${p}`);
      if (t) {
        entries.set(`${headName}.${p}`, t);
        official.set(`${headName}.${p}`, `${headPrefix}.${p}`);
      }
    }
    return { entries, official };
  };
  const glance = backbone('global_CNN.', 'global_CNN_fc.1', 'classifier.1', (k) => mobilenetName(k, state));
  const focus = backbone('local_CNN.', 'local_CNN_fc.1', 'fc', (k) => k);
  for (const k of state.keys()) if (!used.has(k)) problems.push(`unexpected: ${k} [${state.get(k)!.shape}] has no place in the network`);

  // Shapes of the non-backbone layers, before anything is set.
  const ready: { model: tf.LayersModel; layer: string; values: tf.Tensor[] }[] = [];
  try {
    for (const p of plans) {
      const values = p.values.map((v) => v());
      ready.push({ model: p.model, layer: p.layer, values });
      const current = p.model.getLayer(p.layer).getWeights();
      values.forEach((v, i) => {
        const want = current[i]?.shape;
        if (!want || want.join() !== v.shape.join())
          problems.push(`shape: ${p.keys[Math.min(i, p.keys.length - 1)]} gives [${v.shape}] for ${p.layer}, which needs [${want ?? 'nothing'}]`);
      });
    }
    if (problems.length > 0) throw new WeightMismatchError(`${source} (official AdaFocusV2)`, problems);
    // The backbones check their own names and shapes (all or nothing each); their messages name official keys.
    const load = (model: tf.LayersModel, b: { entries: Map<string, TorchTensor>; official: Map<string, string> }) => {
      try {
        loadTorchvisionState(model, b.entries, `${source} (official AdaFocusV2)`);
      } catch (error) {
        if (!(error instanceof WeightMismatchError)) throw error;
        throw new WeightMismatchError(
          `${source} (official AdaFocusV2)`,
          error.mismatches.map((m) => m.replace(/([A-Za-z_][\w.]*\.(?:weight|bias|running_mean|running_var))/g, (n) => b.official.get(n) ?? n)),
        );
      }
    };
    load(models['glance']!, glance);
    load(models['focus']!, focus);
    for (const r of ready) r.model.getLayer(r.layer).setWeights(r.values);
  } finally {
    for (const r of ready) tf.dispose(r.values);
  }
}
