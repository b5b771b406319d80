/**
 * Setting an official PyTorch state dict into Saccade's models, shared by the methods that read
 * official checkpoints: torch layouts to tfjs ones (conv, linear, the (C, H, W) flatten, the GRU's
 * stacked r, z, n gates), the backbones through @saccade/backbones' torchvision mapping, and the
 * all-or-nothing rule: every missing, unexpected and mis-shaped key is listed by its official name,
 * and nothing is set unless all of it fits.
 */
import * as tf from '@tensorflow/tfjs';
import { loadTorchvisionState, WeightMismatchError, type TorchTensor } from '@saccade/backbones';

import { ConfigError } from '../errors.js';

/** torch layouts -> tfjs: conv [O, I, kh, kw] -> [kh, kw, I, O], linear [O, I] -> [I, O]. */
export function tensorOf(t: TorchTensor, layout: 'conv' | 'linear' | 'vector'): tf.Tensor {
  return tf.tidy(() => {
    const x = tf.tensor(t.data, t.shape);
    return layout === 'conv' ? tf.transpose(x, [2, 3, 1, 0]) : layout === 'linear' ? tf.transpose(x) : x;
  });
}

export const shapeOf = (state: ReadonlyMap<string, TorchTensor>, key: string): readonly number[] | undefined => state.get(key)?.shape;

/**
 * The name of a weight of the official codes' MobileNetV2 (`features.N.conv.K`, as AdaFocusV2's and
 * the Something-Something AdaFocus's models/mobilenet*.py define it; `prefix` is where the network
 * sits in the state dict) -> torchvision's, which @saccade/backbones maps; undefined for its head.
 */
export function officialMobileNetName(key: string, state: ReadonlyMap<string, TorchTensor>, prefix: string): string | undefined {
  const m = /^features\.(\d+)\.conv\.(\d+)\.(.+)$/.exec(key);
  if (!m) return key.startsWith('classifier.') ? undefined : key;
  const [block, index, param] = [m[1]!, Number(m[2]), m[3]!];
  const expands = state.has(`${prefix}features.${block}.conv.6.weight`);
  const map = expands ? ['conv.0.0', 'conv.0.1', '', 'conv.1.0', 'conv.1.1', '', 'conv.2', 'conv.3'] : ['conv.0.0', 'conv.0.1', '', 'conv.1', 'conv.2'];
  const module = map[index];
  return module ? `features.${block}.${module}.${param}` : `features.${block}.conv.${index}.${param}`;
}

/**
 * Entries LeapLabTHU's AdaFocusV2 and Uni-AdaFocus checkpoints hold and no Saccade network reads:
 * the backbones' ImageNet heads and the batch norms' counters.
 */
export function leapLabIgnored(state: ReadonlyMap<string, TorchTensor>): string[] {
  return [...state.keys()].filter((k) => /^(global_CNN\.classifier\.|local_CNN\.fc\.)/.test(k) || k.endsWith('num_batches_tracked'));
}

/** The WeightMismatchError of a state dict that lacks a method's landmark keys: what is missing, and how the checkpoint's keys begin. */
export function notOfficial(
  state: ReadonlyMap<string, TorchTensor>,
  need: readonly string[],
  source: string,
  hints: string[] = [],
): WeightMismatchError | undefined {
  const missing = need.filter((k) => !state.has(k));
  if (missing.length === 0) return undefined;
  const keys = [...state.keys()];
  return new WeightMismatchError(source, [
    ...hints,
    ...missing.map((k) => `missing: ${k}`),
    `the checkpoint's ${keys.length} keys begin: ${keys.slice(0, 8).join(', ')}${keys.length > 8 ? ', ...' : ''}`,
  ]);
}

/**
 * The patch size a state dict cannot tell, as given (`--patch-size`): a ConfigError naming the
 * paper's sizes when it is missing or does not fit the frames.
 */
export function requirePatchSize(patchSize: number | undefined, frameSize: number, method: string, paperSizes: string): number {
  if (patchSize === undefined || !(patchSize > 0 && patchSize <= frameSize))
    throw new ConfigError(
      'patchSize',
      `must be given for an official ${method} checkpoint (its patch_size: ${paperSizes} in the paper), in 1..${frameSize}, got ${patchSize}`,
    );
  return patchSize;
}

type Make = (ts: TorchTensor[]) => (() => tf.Tensor)[];

/** The official weights of one network, gathered layer by layer, then checked and set all at once (`commit`). */
export class OfficialLayout {
  private readonly problems: string[] = [];
  private readonly used: Set<string>;
  private readonly plans: { model: tf.LayersModel; layer: string; values: (() => tf.Tensor)[]; keys: string[] }[] = [];
  private readonly backbones: { model: tf.LayersModel; entries: Map<string, TorchTensor>; official: Map<string, string> }[] = [];

  constructor(
    private readonly state: ReadonlyMap<string, TorchTensor>,
    ignored: readonly string[],
    /** Names the checkpoint in messages: "FILE (official AdaFocusV2)". */
    private readonly source: string,
  ) {
    this.used = new Set(ignored);
  }

  /** An official tensor, marked used; a "missing" problem when it is absent. */
  get(key: string): TorchTensor | undefined {
    const t = this.state.get(key);
    if (!t) this.problems.push(`missing: ${key}`);
    else this.used.add(key);
    return t;
  }

  /** A layer's weights, in tfjs order, made from official tensors. */
  layer(model: tf.LayersModel, name: string, keys: string[], make: Make): void {
    const ts = keys.map((k) => this.get(k));
    if (ts.every((t) => t)) this.plans.push({ model, layer: name, values: make(ts as TorchTensor[]), keys });
  }

  linear(model: tf.LayersModel, name: string, prefix: string): void {
    this.layer(model, name, [`${prefix}.weight`, `${prefix}.bias`], (ts) => [() => tensorOf(ts[0]!, 'linear'), () => tensorOf(ts[1]!, 'vector')]);
  }

  conv(model: tf.LayersModel, name: string, key: string): void {
    this.layer(model, name, [key], (ts) => [() => tensorOf(ts[0]!, 'conv')]);
  }

  batchNorm(model: tf.LayersModel, name: string, prefix: string): void {
    const keys = [`${prefix}.weight`, `${prefix}.bias`, `${prefix}.running_mean`, `${prefix}.running_var`];
    this.layer(model, name, keys, (ts) => ts.map((t) => () => tensorOf(t, 'vector')));
  }

  /**
   * A linear layer after torch's flatten of a [channels, h, w] map, into a tfjs dense layer after
   * a flatten of [h, w, channels]: the columns reordered from (channel, row, column) to (row, column, channel).
   */
  flattenedLinear(model: tf.LayersModel, name: string, prefix: string, map: readonly [number, number, number]): void {
    const [mh, mw, channels] = map;
    this.layer(model, name, [`${prefix}.weight`, `${prefix}.bias`], (ts) => [
      () =>
        tf.tidy(() => {
          const w = tf.tensor(ts[0]!.data, ts[0]!.shape);
          const [out, cols] = ts[0]!.shape as [number, number];
          if (cols !== channels * mh * mw) return tf.transpose(w); // reported as a shape mismatch
          return tf.reshape(tf.transpose(tf.reshape(w, [out, channels, mh, mw]), [2, 3, 1, 0]), [mh * mw * channels, out]);
        }),
      () => tensorOf(ts[1]!, 'vector'),
    ]);
  }

  /** A one-layer torch GRU (`prefix.weight_ih_l0` ...: gates r, z, n stacked) into Saccade's gru_x_* / gru_h_* layers. */
  gru(model: tf.LayersModel, prefix: string): void {
    for (const [side, suffix] of [
      ['x', 'ih'],
      ['h', 'hh'],
    ] as const) {
      ['r', 'z', 'n'].forEach((gate, g) => {
        this.layer(model, `gru_${side}_${gate}`, [`${prefix}.weight_${suffix}_l0`, `${prefix}.bias_${suffix}_l0`], (ts) => {
          const h = ts[0]!.shape[0]! / 3;
          return [
            () => tf.tidy(() => tf.transpose(tf.slice(tf.tensor(ts[0]!.data, ts[0]!.shape), [g * h, 0], [h, -1]))),
            () => tf.tidy(() => tf.slice(tf.tensor(ts[1]!.data, ts[1]!.shape), [g * h], [h])),
          ];
        });
      });
    }
  }

  /**
   * A backbone through @saccade/backbones' torchvision mapping: the entries under `prefix` (renamed
   * to torchvision's names by `rename`; undefined leaves one out), and its class head from
   * `headPrefix` as `headName`.
   */
  backbone(model: tf.LayersModel, prefix: string, head: { prefix: string; name: string }, rename: (k: string) => string | undefined = (k) => k): void {
    const entries = new Map<string, TorchTensor>();
    const official = new Map<string, string>();
    for (const [k, t] of this.state) {
      if (!k.startsWith(prefix) || this.used.has(k)) continue;
      const name = rename(k.slice(prefix.length));
      if (name === undefined) continue;
      entries.set(name, t);
      official.set(name, k);
      this.used.add(k);
    }
    for (const p of ['weight', 'bias']) {
      const t = this.get(`${head.prefix}.${p}`);
      if (t) {
        entries.set(`${head.name}.${p}`, t);
        official.set(`${head.name}.${p}`, `${head.prefix}.${p}`);
      }
    }
    this.backbones.push({ model, entries, official });
  }

  /**
   * LeapLabTHU's backbones (AdaFocusV2, Uni-AdaFocus): the MobileNetV2 glance `global_CNN` (its own
   * `features.N.conv.K` names) with its head `global_CNN_fc.1`, the ResNet-50 `local_CNN` with its
   * head `local_CNN_fc.1`.
   */
  leapLabBackbones(models: Readonly<Record<string, tf.LayersModel>>): void {
    this.backbone(models['glance']!, 'global_CNN.', { prefix: 'global_CNN_fc.1', name: 'classifier.1' }, (k) =>
      officialMobileNetName(k, this.state, 'global_CNN.'),
    );
    this.backbone(models['focus']!, 'local_CNN.', { prefix: 'local_CNN_fc.1', name: 'fc' });
  }

  /** A PoolingClassifier's MLP (`${mlp}.0` linear, `${mlp}.1` batch norm) and step heads (`${heads}.k.1`) into Saccade's step classifier models. */
  stepClassifier(mlp: tf.LayersModel, heads: tf.LayersModel, mlpPrefix: string, headsPrefix: string): void {
    this.linear(mlp, 'mlp_fc', `${mlpPrefix}.0`);
    this.batchNorm(mlp, 'mlp_bn', `${mlpPrefix}.1`);
    const steps = heads.layers.filter((l) => /^head_\d+$/.test(l.name)).length;
    for (let k = 0; k < steps; k++) this.linear(heads, `head_${k}`, `${headsPrefix}.${k}.1`);
  }

  /** Check everything, then set everything; a WeightMismatchError listing every problem sets nothing. */
  commit(): void {
    const problems = [...this.problems];
    for (const k of this.state.keys()) if (!this.used.has(k)) problems.push(`unexpected: ${k} [${this.state.get(k)!.shape}] has no place in the network`);
    const ready: { model: tf.LayersModel; layer: string; values: tf.Tensor[] }[] = [];
    try {
      for (const p of this.plans) {
        const values = p.values.map((v) => v());
        ready.push({ model: p.model, layer: p.layer, values });
        const current = p.model.getLayer(p.layer).getWeights();
        if (current.length !== values.length)
          problems.push(`shape: ${p.keys.join(', ')} give ${values.length} weights for ${p.layer}, which has ${current.length}`);
        values.forEach((v, i) => {
          const want = current[i]?.shape;
          if (want && want.join() !== v.shape.join())
            problems.push(`shape: ${p.keys[Math.min(i, p.keys.length - 1)]} gives [${v.shape}] for ${p.layer}, which needs [${want}]`);
        });
      }
      if (problems.length > 0) throw new WeightMismatchError(this.source, problems);
      // The backbones check their own names and shapes (all or nothing each; a later one's failure
      // leaves an earlier one set, in a network the caller then disposes); messages name official keys.
      for (const b of this.backbones) {
        try {
          loadTorchvisionState(b.model, b.entries, this.source);
        } catch (error) {
          if (!(error instanceof WeightMismatchError)) throw error;
          throw new WeightMismatchError(
            this.source,
            error.mismatches.map((m) => m.replace(/([A-Za-z_][\w.]*\.(?:weight|bias|running_mean|running_var))/g, (n) => b.official.get(n) ?? n)),
          );
        }
      }
      for (const r of ready) r.model.getLayer(r.layer).setWeights(r.values);
    } finally {
      for (const r of ready) tf.dispose(r.values);
    }
  }
}
