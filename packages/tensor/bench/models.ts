/** The two stacks the engine benchmark trains: small, but shaped like the backbones Saccade uses. */
import * as tf from '@tensorflow/tfjs';

type Sym = tf.SymbolicTensor;

function convBn(x: Sym, filters: number, kernel: number, stride: number, name: string, relu: 'relu' | 'relu6' | null): Sym {
  let y = tf.layers
    .conv2d({
      filters,
      kernelSize: kernel,
      strides: stride,
      padding: 'same',
      useBias: false,
      name: `${name}_conv`,
      kernelInitializer: tf.initializers.heNormal({ seed: 1 }),
    })
    .apply(x) as Sym;
  y = tf.layers.batchNormalization({ name: `${name}_bn` }).apply(y) as Sym;
  if (relu === 'relu') y = tf.layers.reLU({ name: `${name}_relu` }).apply(y) as Sym;
  if (relu === 'relu6') y = tf.layers.reLU({ maxValue: 6, name: `${name}_relu6` }).apply(y) as Sym;
  return y;
}

/** ResNet basic blocks (two 3x3 convs, identity or 1x1 projection shortcut), torchvision layout. */
export function resnetStack(size: number, classes = 10): tf.LayersModel {
  const input = tf.input({ shape: [size, size, 3] });
  let x = convBn(input, 32, 3, 2, 'stem', 'relu');
  const stages: [number, number][] = [
    [32, 1],
    [32, 1],
    [64, 2],
    [64, 1],
  ];
  stages.forEach(([filters, stride], i) => {
    let y = convBn(x, filters, 3, stride, `b${i}a`, 'relu');
    y = convBn(y, filters, 3, 1, `b${i}b`, null);
    const shortcut = stride === 1 && (x.shape[3] as number) === filters ? x : convBn(x, filters, 1, stride, `b${i}p`, null);
    x = tf.layers.reLU({ name: `b${i}_out` }).apply(tf.layers.add({ name: `b${i}_add` }).apply([y, shortcut]) as Sym) as Sym;
  });
  x = tf.layers.globalAveragePooling2d({ name: 'pool' }).apply(x) as Sym;
  const out = tf.layers
    .dense({ units: classes, activation: 'softmax', name: 'head', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) })
    .apply(x) as Sym;
  return tf.model({ inputs: input, outputs: out, name: 'resnet_stack' });
}

/** MobileNetV2 inverted residuals (1x1 expand x6, 3x3 depthwise, 1x1 linear projection). */
export function mobilenetV2Stack(size: number, classes = 10): tf.LayersModel {
  const input = tf.input({ shape: [size, size, 3] });
  let x = convBn(input, 16, 3, 2, 'stem', 'relu6');
  const blocks: [number, number][] = [
    [16, 1],
    [24, 2],
    [24, 1],
    [32, 2],
    [32, 1],
  ];
  blocks.forEach(([filters, stride], i) => {
    const inC = x.shape[3] as number;
    let y = convBn(x, inC * 6, 1, 1, `ir${i}_expand`, 'relu6');
    y = tf.layers
      .depthwiseConv2d({
        kernelSize: 3,
        strides: stride,
        padding: 'same',
        useBias: false,
        name: `ir${i}_dw`,
        depthwiseInitializer: tf.initializers.heNormal({ seed: 3 }),
      })
      .apply(y) as Sym;
    y = tf.layers.batchNormalization({ name: `ir${i}_dw_bn` }).apply(y) as Sym;
    y = tf.layers.reLU({ maxValue: 6, name: `ir${i}_dw_relu6` }).apply(y) as Sym;
    y = convBn(y, filters, 1, 1, `ir${i}_project`, null);
    x = stride === 1 && inC === filters ? (tf.layers.add({ name: `ir${i}_add` }).apply([x, y]) as Sym) : y;
  });
  x = tf.layers.globalAveragePooling2d({ name: 'pool' }).apply(x) as Sym;
  const out = tf.layers
    .dense({ units: classes, activation: 'softmax', name: 'head', kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) })
    .apply(x) as Sym;
  return tf.model({ inputs: input, outputs: out, name: 'mobilenetv2_stack' });
}
