/**
 * The temporal shift module of TSM (Lin, Gan and Han, ICCV 2019) as a tfjs layer. The batch holds
 * clips of `segments` frames each, video-major ([B * segments, H, W, C]); the layer moves the
 * first C / div channels of every frame one frame back in time (frame t gets frame t+1's, the last
 * frame zeros) and the next C / div one frame forward (frame t gets frame t-1's, the first frame
 * zeros), and leaves the rest. It has no weights: a 2-D backbone with it placed before its blocks'
 * first convs (TSM's residual shift) mixes neighbouring frames at the cost of a copy.
 */
import * as tf from '@tensorflow/tfjs';

import { BackboneOptionError } from './errors.js';

export interface TemporalShiftOptions {
  /** Frames per clip: the batch is [clips * segments, H, W, C], each clip's frames together. */
  segments: number;
  /** The shifted channels are C / div each way (TSM's fold_div; 8 in the papers). */
  div: number;
}

export class TemporalShift extends tf.layers.Layer {
  static readonly className = 'TemporalShift';
  readonly segments: number;
  readonly div: number;

  constructor(args: TemporalShiftOptions & { name?: string }) {
    super({ name: args.name });
    for (const [field, v, min] of [
      ['segments', args.segments, 1],
      ['div', args.div, 2],
    ] as const) {
      if (!Number.isInteger(v) || v < min) throw new BackboneOptionError(args.name ?? 'TemporalShift', field, `must be an integer >= ${min}, got ${v}`);
    }
    this.segments = args.segments;
    this.div = args.div;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    return temporalShift(x as tf.Tensor4D, this.segments, this.div);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), segments: this.segments, div: this.div };
  }
}
tf.serialization.registerClass(TemporalShift);

/** TSM's shift of frames [B * segments, H, W, C] (video-major); see `TemporalShift`. */
export function temporalShift(x: tf.Tensor4D, segments: number, div: number): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  if (n % segments !== 0)
    throw new BackboneOptionError(
      'TemporalShift',
      'input',
      `holds ${n} frames, not whole clips of ${segments} frames (the batch is [clips * ${segments}, H, W, C])`,
    );
  const fold = Math.floor(c / div);
  if (segments === 1 || fold === 0) return x.clone();
  // In 4-D ops along the batch (5-D slices and pads are slow on wasm: 1.1 s against 19 ms for
  // [128, 12, 12, 32] forward and backward): the first fold from the next frame, the second from
  // the previous one, each zeroed where that frame belongs to another clip.
  return tf.tidy(() => {
    const frameOf = Array.from({ length: n }, (_, i) => i % segments);
    // Rows from another clip are multiplied by 0 (half the time of tf.where here).
    const keep = (v: tf.Tensor, ok: (f: number) => boolean) =>
      tf.mul(
        v,
        tf.tensor4d(
          frameOf.map((f) => (ok(f) ? 1 : 0)),
          [n, 1, 1, 1],
        ),
      );
    const zero = tf.zeros([1, h, w, fold]);
    const back = keep(tf.concat([tf.slice(x, [1, 0, 0, 0], [n - 1, h, w, fold]), zero], 0), (f) => f < segments - 1);
    const forward = keep(tf.concat([zero, tf.slice(x, [0, 0, 0, fold], [n - 1, h, w, fold])], 0), (f) => f > 0);
    const rest = tf.slice(x, [0, 0, 0, 2 * fold], [n, h, w, c - 2 * fold]);
    return tf.concat([back, forward, rest], 3) as tf.Tensor4D;
  });
}
