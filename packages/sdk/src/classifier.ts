/**
 * AdaFocusV2's classifier: each frame's concatenated glance and focus vectors go through an MLP
 * (linear + BN + ReLU; 4096 wide in the paper, scaled for the presets), the MLP outputs are
 * max-pooled cumulatively over time, and step k has its own linear head, so that a video can stop
 * after any step. Two serialisable tfjs-layers models: `mlp` and `heads` (one Dense per step).
 */
import * as tf from '@tensorflow/tfjs';
import { gruCell, gruRunner, GruWeightCache, seededDense } from '@saccade/policy';
import { Rng } from '@saccade/tensor';

export interface ClassifierOptions {
  inputWidth: number;
  width: number;
  steps: number;
  classes: number;
  dropout?: number;
  seed?: number;
  /** The heads' input width (default `width`: the running max; Uni-AdaFocus's focus heads read it beside the glance's, 2 x width). */
  headInput?: number;
  /** The models' names: `${name}_mlp`, `${name}_heads` (default 'classifier'). */
  name?: string;
}

export interface StepClassifier {
  readonly mlp: tf.LayersModel;
  readonly heads: tf.LayersModel;
  readonly steps: number;
  /** Per-frame features [B*?, inputWidth] -> MLP outputs [.., width]. */
  embed(features: tf.Tensor2D, training?: boolean): tf.Tensor2D;
  /** Logits of step k (0-based) from the running max [B, width]. */
  head(k: number, pooled: tf.Tensor2D, training?: boolean): tf.Tensor2D;
  /** All steps: features [B, T, inputWidth] -> logits [B, T, classes] (cumulative max over time). */
  sequence(features: tf.Tensor3D, training?: boolean): tf.Tensor3D;
  readonly trainableWeights: tf.LayerVariable[];
  dispose(): void;
}

export function createStepClassifier(o: ClassifierOptions): StepClassifier {
  const rng = new Rng(o.seed ?? 0);
  const input = tf.input({ shape: [o.inputWidth], name: 'features' });
  let z = tf.layers
    .dense({ units: o.width, name: 'mlp_fc', kernelInitializer: tf.initializers.glorotUniform({ seed: rng.tensorSeed() }) })
    .apply(input) as tf.SymbolicTensor;
  z = tf.layers.batchNormalization({ name: 'mlp_bn', epsilon: 1e-5, momentum: 0.9 }).apply(z) as tf.SymbolicTensor;
  z = tf.layers.reLU({ name: 'mlp_relu' }).apply(z) as tf.SymbolicTensor;
  const name = o.name ?? 'classifier';
  const mlp = tf.model({ inputs: input, outputs: z, name: `${name}_mlp` });
  const pooled = tf.input({ shape: [o.headInput ?? o.width], name: 'pooled' });
  const dropped =
    (o.dropout ?? 0) > 0 ? (tf.layers.dropout({ rate: o.dropout!, name: 'head_dropout', seed: rng.tensorSeed() }).apply(pooled) as tf.SymbolicTensor) : pooled;
  const outs = Array.from(
    { length: o.steps },
    (_, k) =>
      tf.layers
        .dense({ units: o.classes, name: `head_${k}`, kernelInitializer: tf.initializers.glorotUniform({ seed: rng.tensorSeed() }) })
        .apply(dropped) as tf.SymbolicTensor,
  );
  const heads = tf.model({ inputs: pooled, outputs: outs, name: `${name}_heads` });
  return wrapStepClassifier(mlp, heads);
}

/** A StepClassifier around built or loaded `mlp` and `heads` models. */
export function wrapStepClassifier(mlp: tf.LayersModel, heads: tf.LayersModel): StepClassifier {
  const width = mlp.outputs[0]!.shape[1] as number;
  const steps = heads.outputs.length;
  const hasDropout = heads.layers.some((l) => l.name === 'head_dropout');
  const headLayer = (k: number) => heads.getLayer(`head_${k}`);
  const dropout = hasDropout ? heads.getLayer('head_dropout') : undefined;
  return {
    mlp,
    heads,
    steps,
    embed: (features, training = false) => mlp.apply(features, { training }) as tf.Tensor2D,
    head: (k, p, training = false) => tf.tidy(() => headLayer(k).apply(dropout ? (dropout.apply(p, { training }) as tf.Tensor) : p) as tf.Tensor2D),
    sequence(features, training = false) {
      const [b, t, d] = features.shape;
      return tf.tidy(() => {
        const z = tf.reshape(mlp.apply(tf.reshape(features, [b * t, d]), { training }) as tf.Tensor, [b, t, width]);
        const logits: tf.Tensor2D[] = [];
        let running: tf.Tensor2D | undefined;
        for (let k = 0; k < t; k++) {
          const zk = tf.reshape(tf.slice(z, [0, k, 0], [b, 1, width]), [b, width]) as tf.Tensor2D;
          const current: tf.Tensor2D = running ? (tf.maximum(running, zk) as tf.Tensor2D) : zk;
          running = current;
          const p = dropout ? (dropout.apply(current, { training }) as tf.Tensor2D) : current;
          logits.push(headLayer(k).apply(p) as tf.Tensor2D);
        }
        return tf.stack(logits, 1) as tf.Tensor3D;
      });
    },
    get trainableWeights() {
      return [...mlp.trainableWeights, ...heads.trainableWeights];
    },
    dispose() {
      mlp.dispose();
      heads.dispose();
    },
  };
}

/**
 * AdaFocus V1's classifier: a GRU over the frames' concatenated glance and focus vectors with a
 * linear head on its state, so that there are logits after every step. One serialisable model,
 * `recurrent`: [features [B, inputWidth], state [B, hidden]] -> [logits [B, classes], state'].
 */
export interface GruClassifier {
  readonly recurrent: tf.LayersModel;
  readonly hidden: number;
  initialState(batch: number): tf.Tensor2D;
  step(features: tf.Tensor2D, state: tf.Tensor2D, training?: boolean): { logits: tf.Tensor2D; state: tf.Tensor2D };
  /** features [B, T, inputWidth] -> logits [B, T, classes]. */
  sequence(features: tf.Tensor3D, training?: boolean): tf.Tensor3D;
  readonly trainableWeights: tf.LayerVariable[];
  dispose(): void;
}

export function createGruClassifier(o: { inputWidth: number; hidden: number; classes: number; seed?: number }): GruClassifier {
  const rng = new Rng(o.seed ?? 0);
  const x = tf.input({ shape: [o.inputWidth], name: 'features' });
  const h = tf.input({ shape: [o.hidden], name: 'state' });
  const next = gruCell(x, h, o.hidden, rng);
  const logits = seededDense(o.classes, rng, 'head').apply(next) as tf.SymbolicTensor;
  return wrapGruClassifier(tf.model({ inputs: [x, h], outputs: [logits, next], name: 'classifier_recurrent' }));
}

export function wrapGruClassifier(recurrent: tf.LayersModel): GruClassifier {
  const hidden = recurrent.inputs[1]!.shape[1] as number;
  const weights = new GruWeightCache();
  const step = (features: tf.Tensor2D, state: tf.Tensor2D, training = false) => {
    if (!training) {
      // Inference: the GRU from raw ops (@saccade/policy's gruRunner), then the head.
      return tf.tidy(() => {
        const next = gruRunner(recurrent, weights).sequence(tf.expandDims(features, 1) as tf.Tensor3D, state).last;
        return { logits: recurrent.getLayer('head').apply(next) as tf.Tensor2D, state: next };
      });
    }
    const [logits, next] = recurrent.apply([features, state], { training }) as tf.Tensor2D[];
    return { logits: logits!, state: next! };
  };
  return {
    recurrent,
    hidden,
    initialState: (batch) => tf.zeros([batch, hidden]) as tf.Tensor2D,
    step,
    sequence(features, training = false) {
      const [b, t, d] = features.shape;
      return tf.tidy(() => {
        let state = tf.zeros([b, hidden]) as tf.Tensor2D;
        if (!training) {
          // Inference: one runner, every frame's input projections in one matmul.
          const all = gruRunner(recurrent, weights).sequence(features, state).states;
          return tf.reshape(recurrent.getLayer('head').apply(all) as tf.Tensor, [b, t, -1]) as tf.Tensor3D;
        }
        const out: tf.Tensor2D[] = [];
        for (let k = 0; k < t; k++) {
          const r = step(tf.reshape(tf.slice(features, [0, k, 0], [b, 1, d]), [b, d]) as tf.Tensor2D, state, training);
          out.push(r.logits);
          state = r.state;
        }
        return tf.stack(out, 1) as tf.Tensor3D;
      });
    },
    get trainableWeights() {
      return recurrent.trainableWeights;
    },
    dispose() {
      recurrent.dispose();
      weights.dispose();
    },
  };
}
