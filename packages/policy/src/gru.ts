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
    tf.layers
      .activation({ activation: 'sigmoid', name: `gru_${g}` })
      .apply(
        tf.layers
          .add({ name: `gru_${g}_sum` })
          .apply([dense(hidden, rng, `gru_x_${g}`).apply(x) as Sym, dense(hidden, rng, `gru_h_${g}`).apply(hPrev) as Sym]) as Sym,
      ) as Sym;
  const z = gate('z');
  const r = gate('r');
  const hn = tf.layers.multiply({ name: 'gru_r_hn' }).apply([r, dense(hidden, rng, 'gru_h_n').apply(hPrev) as Sym]) as Sym;
  const n = tf.layers
    .activation({ activation: 'tanh', name: 'gru_n' })
    .apply(tf.layers.add({ name: 'gru_n_sum' }).apply([dense(hidden, rng, 'gru_x_n').apply(x) as Sym, hn]) as Sym) as Sym;
  // h' = (1 - z) * n + z * h = n + z * (h - n)
  const minusN = tf.layers.rescaling({ scale: -1, name: 'gru_minus_n' }).apply(n) as Sym;
  const hMinusN = tf.layers.add({ name: 'gru_h_minus_n' }).apply([hPrev, minusN]) as Sym;
  return tf.layers.add({ name: 'gru_state' }).apply([n, tf.layers.multiply({ name: 'gru_z_mix' }).apply([z, hMinusN]) as Sym]) as Sym;
}

/**
 * The same GRU cell for inference, computed with raw ops from the weights of a model built by
 * `gruCell`: the three input projections of every frame are one matmul before the loop, and each
 * step is one matmul of the state with the three recurrent kernels side by side plus the gates'
 * element-wise ops. A tfjs-layers model call per frame spent more time in JavaScript (layer
 * bookkeeping, ~25 kernel launches) than in arithmetic; this path exists for throughput and must
 * compute what the layers compute (tests compare them). The ops are differentiable like the
 * layers: the rl policy's PPO update, which evaluates with training false, goes through them (and
 * a V1 test checks it still learns). Make a runner inside a tf.tidy: it holds the current weights (concatenated copies,
 * so it never goes stale across a training step if made per call) and the scope disposes them.
 */
export interface GruRunner {
  readonly hidden: number;
  /** Input projections [N, inputWidth] -> [N, 3 * hidden] (gates z, r, n, biases included). */
  project(x: tf.Tensor2D): tf.Tensor2D;
  /** One step from a projected input [B, 3 * hidden] and the state [B, hidden] -> the new state. */
  step(projected: tf.Tensor2D, state: tf.Tensor2D): tf.Tensor2D;
  /** All frames: inputs [B, T, inputWidth] from `state` -> every state [B * T, hidden] (video-major) and the last. */
  sequence(inputs: tf.Tensor3D, state: tf.Tensor2D): { states: tf.Tensor2D; last: tf.Tensor2D };
}

type GruWeights = { x: { w: tf.Tensor2D; b: tf.Tensor1D }; h: { w: tf.Tensor2D; b: tf.Tensor1D }; hidden: number };

/** The GRU's kernels and biases of each side concatenated (z, r, n), as new tensors. */
function concatenated(model: tf.LayersModel): GruWeights {
  const kernel = (name: string) => model.getLayer(name).getWeights();
  const side = (prefix: 'x' | 'h') => {
    const parts = ['z', 'r', 'n'].map((g) => kernel(`gru_${prefix}_${g}`));
    return {
      w: tf.concat(
        parts.map((p) => p[0]!),
        1,
      ) as tf.Tensor2D,
      b: tf.concat(
        parts.map((p) => p[1]!),
        0,
      ) as tf.Tensor1D,
    };
  };
  return { x: side('x'), h: side('h'), hidden: kernel('gru_h_z')[0]!.shape[1] as number };
}

/** The variables whose values `concatenated` reads, as their current data (an assign or setWeights replaces it). */
function weightData(model: tf.LayersModel): object[] {
  return ['x', 'h'].flatMap((side) =>
    ['z', 'r', 'n'].flatMap((g) =>
      model
        .getLayer(`gru_${side}_${g}`)
        .getWeights()
        .map((w) => (w as unknown as { dataId: object }).dataId),
    ),
  );
}

/** Whether a gradient tape is recording (inside tf.grad / variableGrads): cached weights would cut the gradient to the variables. */
function recordingGradients(): boolean {
  return ((tf.engine() as unknown as { state: { gradientDepth: number } }).state.gradientDepth ?? 0) > 0;
}

/**
 * The concatenated weights kept between inference calls: a runner made per call re-concatenated
 * them every time, which at the paper's sizes (a 2048-wide GRU: 50 MB of kernels) cost ~100 ms a
 * step on wasm, more than the network. Rebuilt when any of the GRU's variables gets new data (a
 * training step, setWeights); bypassed while a gradient tape records. The owner (a policy, a
 * classifier) disposes it with itself.
 */
export class GruWeightCache {
  private data?: object[];
  private weights?: GruWeights;

  /** The current concatenated weights of `model` (kept tensors: never dispose them). */
  get(model: tf.LayersModel): GruWeights {
    const now = weightData(model);
    if (!this.weights || !this.data || now.some((d, i) => d !== this.data![i])) {
      this.dispose();
      this.weights = tf.tidy(() => {
        const w = concatenated(model);
        return { ...w, x: { w: tf.keep(w.x.w), b: tf.keep(w.x.b) }, h: { w: tf.keep(w.h.w), b: tf.keep(w.h.b) } };
      });
      this.data = now;
    }
    return this.weights;
  }

  dispose(): void {
    if (this.weights) tf.dispose([this.weights.x.w, this.weights.x.b, this.weights.h.w, this.weights.h.b]);
    this.weights = undefined;
    this.data = undefined;
  }
}

/** Another engine's run of a GRU model's whole recurrence: inputs [B, T, inputWidth] from `state` -> every state [B * T, hidden] (video-major) and the last. */
export type GruSequence = (inputs: tf.Tensor3D, state: tf.Tensor2D) => { states: tf.Tensor2D; last: tf.Tensor2D };

const gruEngines = new WeakMap<tf.LayersModel, GruSequence>();

/**
 * Run the recurrence of a GRU model (built by `gruCell`) on another engine at inference: the
 * runners of `gruRunner` then hand `sequence` to it (outside gradient tapes). @saccade/sdk's
 * engines set this for the GRUs of a model they run (ONNX Runtime's GRU operator). `undefined`
 * removes it.
 */
export function setGruEngine(model: tf.LayersModel, run: GruSequence | undefined): void {
  if (run) gruEngines.set(model, run);
  else gruEngines.delete(model);
}

/**
 * A runner on the current weights of `model`: with a cache (inference, outside gradient tapes),
 * the cache's kept concatenation; else concatenated here (tensors of the caller's tidy). Where
 * another engine runs the model's GRU (`setGruEngine`), `sequence` is that engine's.
 */
export function gruRunner(model: tf.LayersModel, cache?: GruWeightCache): GruRunner {
  const taped = recordingGradients();
  const engine = taped ? undefined : gruEngines.get(model);
  let weights: GruWeights | undefined;
  // Read (or concatenated) only when a step is computed here.
  const get = () => (weights ??= cache && !taped ? cache.get(model) : concatenated(model));
  const hidden = model.getLayer('gru_h_z').getWeights()[0]!.shape[1] as number;
  const project = (input: tf.Tensor2D) => tf.fused.matMul({ a: input, b: get().x.w, bias: get().x.b }) as tf.Tensor2D;
  const runner: GruRunner = {
    hidden,
    project,
    sequence(inputs, state) {
      if (engine) return engine(inputs, state);
      const [b, t, d] = inputs.shape;
      const projected = tf.reshape(project(tf.reshape(inputs, [b * t, d]) as tf.Tensor2D), [b, t, 3 * hidden]);
      const states: tf.Tensor2D[] = [];
      for (let k = 0; k < t; k++) {
        state = runner.step(tf.reshape(tf.slice(projected, [0, k, 0], [b, 1, 3 * hidden]), [b, 3 * hidden]) as tf.Tensor2D, state);
        states.push(state);
      }
      return { states: tf.reshape(tf.stack(states, 1), [b * t, hidden]) as tf.Tensor2D, last: state };
    },
    step(projected, state) {
      return tf.tidy(() => {
        const b = state.shape[0];
        const { h } = get();
        const gh = tf.fused.matMul({ a: state, b: h.w, bias: h.b });
        const zr = tf.sigmoid(tf.add(tf.slice(projected, [0, 0], [b, 2 * hidden]), tf.slice(gh, [0, 0], [b, 2 * hidden])));
        const z = tf.slice(zr, [0, 0], [b, hidden]);
        const r = tf.slice(zr, [0, hidden], [b, hidden]);
        const n = tf.tanh(tf.add(tf.slice(projected, [0, 2 * hidden], [b, hidden]), tf.mul(r, tf.slice(gh, [0, 2 * hidden], [b, hidden]))));
        return tf.add(n, tf.mul(z, tf.sub(state, n))) as tf.Tensor2D;
      });
    },
  };
  return runner;
}
