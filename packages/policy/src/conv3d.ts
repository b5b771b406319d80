/**
 * A 3-D convolution computed as kt 2-D convolutions of the time-shifted frames, summed: the same
 * function, kernel layout and 'same' / 'valid' padding as tf.layers.conv3d (stride 1), so weights
 * move between the two unchanged. tfjs's wasm backend has a direct Conv3D kernel about 7-10x slower
 * than its 2-D convolutions (XNNPACK) on Uni-AdaFocus's policy sizes; this layer reaches the 2-D
 * kernels, and its gradient is the 2-D convolutions' own.
 */
import * as tf from '@tensorflow/tfjs';

export interface Conv3DByFramesArgs {
  filters: number;
  /** [kt, kh, kw]. */
  kernelSize: [number, number, number];
  padding?: 'same' | 'valid';
  useBias?: boolean;
  /** How a new kernel starts (a loaded layer's kernel comes from its weights; the default then is unused). */
  kernelInitializer?: ReturnType<typeof tf.initializers.heNormal>;
  name?: string;
}

export class Conv3DByFrames extends tf.layers.Layer {
  static readonly className = 'Conv3DByFrames';
  private readonly filters: number;
  private readonly kernelSize: [number, number, number];
  private readonly padding: 'same' | 'valid';
  private readonly useBias: boolean;
  private readonly initializer: ReturnType<typeof tf.initializers.heNormal>;
  private kernel?: tf.LayerVariable;
  private bias?: tf.LayerVariable;

  constructor(args: Conv3DByFramesArgs) {
    super({ name: args.name });
    this.filters = args.filters;
    this.kernelSize = [...args.kernelSize];
    this.padding = args.padding ?? 'valid';
    this.useBias = args.useBias ?? true;
    // From a saved model the initializer is a config (and the weights are loaded over it).
    const init = args.kernelInitializer as unknown;
    this.initializer =
      init !== undefined && typeof (init as { apply?: unknown }).apply === 'function'
        ? (init as ReturnType<typeof tf.initializers.heNormal>)
        : tf.initializers.glorotUniform({});
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const channels = shape[4] as number;
    this.kernel = this.addWeight('kernel', [...this.kernelSize, channels, this.filters], 'float32', this.initializer);
    if (this.useBias) this.bias = this.addWeight('bias', [this.filters], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [b, t, h, w] = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const out = (d: number | null, k: number) => (d === null ? null : this.padding === 'same' ? d : d - k + 1);
    return [b ?? null, out(t ?? null, this.kernelSize[0]), out(h ?? null, this.kernelSize[1]), out(w ?? null, this.kernelSize[2]), this.filters];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor5D;
    return this.compute(x, this.kernel!.read() as tf.Tensor5D, this.bias?.read() as tf.Tensor1D | undefined);
  }

  /** The convolution of `x` with a kernel [kt, kh, kw, in, out] (and a bias): what `call` does with the layer's weights. */
  compute(x: tf.Tensor5D, kernel: tf.Tensor5D, bias?: tf.Tensor1D): tf.Tensor5D {
    return tf.tidy(() => {
      const [b, t, h, w, c] = x.shape;
      const [kt, kh, kw] = this.kernelSize;
      const before = this.padding === 'same' ? (kt - 1) >> 1 : 0;
      const after = this.padding === 'same' ? kt - 1 - before : 0;
      // Time padding and the time slices on a [B, T, h * w * c] view: tfjs's wasm Slice and Pad of
      // rank-5 tensors take a slow path (63 ms against 0.3 ms for the same [8, 16, 4, 4, 32] slice).
      const flat = tf.reshape(x, [b, t, h * w * c]);
      const padded =
        before + after > 0
          ? tf.pad(flat, [
              [0, 0],
              [before, after],
              [0, 0],
            ])
          : flat;
      const tOut = t + before + after - kt + 1;
      // The kernel's time slices on a [kt, rest] view, for the same reason.
      const kernels = tf.reshape(kernel, [kt, kh * kw * c * this.filters]);
      let sum: tf.Tensor4D | undefined;
      for (let dt = 0; dt < kt; dt++) {
        const frames = tf.reshape(tf.slice(padded, [0, dt, 0], [b, tOut, h * w * c]), [b * tOut, h, w, c]) as tf.Tensor4D;
        const k = tf.reshape(tf.slice(kernels, [dt, 0], [1, kh * kw * c * this.filters]), [kh, kw, c, this.filters]) as tf.Tensor4D;
        const y = tf.conv2d(frames, k, 1, this.padding);
        sum = sum ? (tf.add(sum, y) as tf.Tensor4D) : y;
      }
      const [, oh, ow] = sum!.shape;
      const out = tf.reshape(sum!, [b, tOut, oh, ow, this.filters]);
      return (bias ? tf.add(out, bias) : out) as tf.Tensor5D;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      filters: this.filters,
      kernelSize: this.kernelSize,
      padding: this.padding,
      useBias: this.useBias,
      kernelInitializer: { className: this.initializer.getClassName(), config: this.initializer.getConfig() },
    };
  }
}

tf.serialization.registerClass(Conv3DByFrames);
