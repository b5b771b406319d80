/**
 * An optimizer with a learning-rate multiplier per part (AdaFocusV2: policy x0.1, glance x0.5,
 * focus x1, classifier x5) and a cosine schedule with linear warm-up. Adam (decoupled weight
 * decay, AdamW) or SGD with momentum (weight decay added to the gradient, as PyTorch's SGD).
 *
 * Written here rather than with tf.train.*: its whole state (moments and step count) is saved and
 * restored exactly, so a resumed run gives bit-identical weights to an uninterrupted one (tfjs's
 * Adam recomputes its beta powers on restore with a different rounding).
 */
import * as tf from '@tensorflow/tfjs';

import { CheckpointError } from './errors.js';

export interface OptimizerOptions {
  kind: 'adam' | 'sgd';
  lr: number;
  momentum: number;
  weightDecay: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

/** Learning rate at `step` of `total`: linear warm-up over `warmup` steps, then cosine to 0. */
export function cosineLr(base: number, step: number, total: number, warmup = 0): number {
  if (warmup > 0 && step < warmup) return (base * (step + 1)) / warmup;
  const progress = total > warmup ? (step - warmup) / (total - warmup) : 1;
  return 0.5 * base * (1 + Math.cos(Math.PI * Math.min(1, Math.max(0, progress))));
}

/** A stage's own optimiser (TrainingStage.optimizer): its kind, and its step count within the stage (1 on the stage's first step). */
export interface StageOptimizer {
  kind: 'adam' | 'sgd';
  step: number;
}

export class PartOptimizer {
  private readonly slots = new Map<string, tf.Variable[]>();
  /** The moments of stages with their own optimiser, apart from the run's (checkpoint keys `index#s0`). */
  private readonly stageSlots = new Map<string, tf.Variable[]>();
  private readonly partOf = new Map<string, string>();
  readonly vars = new Map<string, tf.Variable>();
  step = 0;

  constructor(
    readonly options: OptimizerOptions,
    parts: Record<string, tf.LayerVariable[]>,
    readonly multipliers: Record<string, number>,
  ) {
    for (const [part, weights] of Object.entries(parts)) {
      for (const w of weights) {
        const v = w.read() as tf.Variable;
        this.vars.set(v.name, v);
        this.partOf.set(v.name, part);
      }
    }
  }

  /** Names of the variables it updates, in a stable order. */
  get names(): string[] {
    return [...this.vars.keys()];
  }

  /**
   * Apply gradients (keyed by variable name) with base learning rate `lr`; disposes nothing it was
   * given. With `stage`, the stage's own optimiser: its kind, `lr` as it is for every part, no
   * weight decay, Adam's bias correction counted from the stage's first step, and moments of its own.
   */
  apply(grads: Record<string, tf.Tensor>, lr: number, stage?: StageOptimizer): void {
    const kind = stage?.kind ?? this.options.kind;
    const { momentum } = this.options;
    const weightDecay = stage ? 0 : this.options.weightDecay;
    const b1 = this.options.beta1 ?? 0.9;
    const b2 = this.options.beta2 ?? 0.999;
    const eps = this.options.epsilon ?? 1e-8;
    this.step += 1;
    const t = stage?.step ?? this.step;
    const store = stage ? this.stageSlots : this.slots;
    for (const [name, v] of this.vars) {
      const g = grads[name];
      if (!g) continue;
      const partLr = stage ? lr : lr * (this.multipliers[this.partOf.get(name)!] ?? 1);
      if (partLr === 0) continue;
      let slots = store.get(name);
      if (!slots) {
        slots = tf.tidy(() =>
          kind === 'adam' ? [tf.variable(tf.zerosLike(v), false), tf.variable(tf.zerosLike(v), false)] : [tf.variable(tf.zerosLike(v), false)],
        );
        store.set(name, slots);
      }
      const s = slots;
      tf.tidy(() => {
        if (kind === 'adam') {
          const m = tf.add(tf.mul(s[0]!, b1), tf.mul(g, 1 - b1));
          const u = tf.add(tf.mul(s[1]!, b2), tf.mul(tf.square(g), 1 - b2));
          s[0]!.assign(m);
          s[1]!.assign(u);
          const stepSize = (partLr * Math.sqrt(1 - b2 ** t)) / (1 - b1 ** t);
          let next = tf.sub(v, tf.mul(tf.div(m, tf.add(tf.sqrt(u), eps)), stepSize));
          if (weightDecay > 0) next = tf.sub(next, tf.mul(v, partLr * weightDecay));
          v.assign(next);
        } else {
          const grad = weightDecay > 0 ? tf.add(g, tf.mul(v, weightDecay)) : g;
          const buf = tf.add(tf.mul(s[0]!, momentum), grad);
          s[0]!.assign(buf);
          v.assign(tf.sub(v, tf.mul(buf, partLr)));
        }
      });
    }
  }

  /** The state as named tensors (copies), for checkpoints. */
  state(): { step: number; tensors: { name: string; tensor: tf.Tensor }[] } {
    const tensors: { name: string; tensor: tf.Tensor }[] = [];
    // Keyed by the variable's position, not its name: tfjs uniquifies names per process.
    this.names.forEach((name, index) => {
      this.slots.get(name)?.forEach((s, i) => tensors.push({ name: `${index}#${i}`, tensor: s.clone() }));
      this.stageSlots.get(name)?.forEach((s, i) => tensors.push({ name: `${index}#s${i}`, tensor: s.clone() }));
    });
    return { step: this.step, tensors };
  }

  /** Restore a state from `state()`; takes ownership of nothing (copies the values). */
  restore(step: number, tensors: Record<string, tf.Tensor>): void {
    this.disposeSlots();
    this.step = step;
    const perVar = new Map<string, tf.Tensor[]>();
    for (const [key, tensor] of Object.entries(tensors)) {
      const at = key.lastIndexOf('#');
      const name = this.names[Number(key.slice(0, at))];
      if (name === undefined)
        throw new CheckpointError('checkpoint', `holds optimizer state for variable #${key.slice(0, at)}, which this model does not have`);
      const slot = key.slice(at + 1);
      const id = slot.startsWith('s') ? `s:${name}` : name;
      const list = perVar.get(id) ?? [];
      list[Number(slot.replace(/^s/, ''))] = tensor;
      perVar.set(id, list);
    }
    for (const [id, list] of perVar) {
      const [store, name] = id.startsWith('s:') ? [this.stageSlots, id.slice(2)] : [this.slots, id];
      store.set(
        name,
        tf.tidy(() => list.map((x) => tf.variable(x.clone(), false))),
      );
    }
  }

  private disposeSlots(): void {
    for (const slots of [...this.slots.values(), ...this.stageSlots.values()]) tf.dispose(slots);
    this.slots.clear();
    this.stageSlots.clear();
  }

  dispose(): void {
    this.disposeSlots();
  }
}
