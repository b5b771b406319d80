/**
 * Layers shared by the policies: a seeded dense layer, and a GRU cell in PyTorch's formulation (the
 * reset gate scales the recurrent candidate term) built from Dense, Add, Multiply, Activation and
 * Rescaling layers, so that a policy's models stay serialisable (model.json + shards).
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '@saccade/tensor';

type Sym = tf.SymbolicTensor;

export function dense(units: number, rng: Rng, name: string, activation?: 'sigmoid' | 'tanh' | 'relu' | 'softmax'): tf.layers.Layer {
  return tf.layers.dense({ units, name, ...(activation ? { activation } : {}), kernelInitializer: tf.initializers.glorotUniform({ seed: rng.tensorSeed() }) });
}

/** h' = GRU(x, h): z = σ(Wz x + Uz h), r = σ(Wr x + Ur h), n = tanh(Wn x + r ⊙ (Un h)), h' = (1 - z) n + z h. */
export function gruCell(x: Sym, hPrev: Sym, hidden: number, rng: Rng): Sym {
  const gate = (g: string) =>
    tf.layers.activation({ activation: 'sigmoid', name: `gru_${g}` }).apply(tf.layers.add({ name: `gru_${g}_sum` }).apply([dense(hidden, rng, `gru_x_${g}`).apply(x) as Sym, dense(hidden, rng, `gru_h_${g}`).apply(hPrev) as Sym]) as Sym) as Sym;
  const z = gate('z');
  const r = gate('r');
  const hn = tf.layers.multiply({ name: 'gru_r_hn' }).apply([r, dense(hidden, rng, 'gru_h_n').apply(hPrev) as Sym]) as Sym;
  const n = tf.layers.activation({ activation: 'tanh', name: 'gru_n' }).apply(tf.layers.add({ name: 'gru_n_sum' }).apply([dense(hidden, rng, 'gru_x_n').apply(x) as Sym, hn]) as Sym) as Sym;
  // h' = (1 - z) * n + z * h = n + z * (h - n)
  const minusN = tf.layers.rescaling({ scale: -1, name: 'gru_minus_n' }).apply(n) as Sym;
  const hMinusN = tf.layers.add({ name: 'gru_h_minus_n' }).apply([hPrev, minusN]) as Sym;
  return tf.layers.add({ name: 'gru_state' }).apply([n, tf.layers.multiply({ name: 'gru_z_mix' }).apply([z, hMinusN]) as Sym]) as Sym;
}
