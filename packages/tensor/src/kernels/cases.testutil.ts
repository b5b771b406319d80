/** Random convolution cases for the kernel property tests (seeded, so every run checks the same ones). */
import { backend_util } from '@tensorflow/tfjs';

import { Rng } from '../random.js';

export type Pad = 'same' | 'valid' | [[0, 0], [number, number], [number, number], [0, 0]];

export interface ConvCase {
  label: string;
  batch: number;
  height: number;
  width: number;
  inChannels: number;
  /** Output channels (regular conv) or channel multiplier (depthwise). */
  outChannels: number;
  kernel: [number, number];
  strides: [number, number];
  dilations: [number, number];
  pad: Pad;
}

const KERNELS: [number, number][] = [
  [1, 1],
  [3, 3],
  [5, 5],
  [1, 3],
  [3, 1],
  [1, 5],
  [2, 2],
];

export function describeCase(c: ConvCase): string {
  const pad = typeof c.pad === 'string' ? c.pad : `explicit(${c.pad[1]},${c.pad[2]})`;
  return `${c.label} x[${c.batch},${c.height},${c.width},${c.inChannels}] k${c.kernel.join('x')} out${c.outChannels} s${c.strides.join(',')} d${c.dilations.join(',')} ${pad}`;
}

function outputSize(c: ConvCase, depthwise: boolean): number[] | undefined {
  try {
    const info = backend_util.computeConv2DInfo(
      [c.batch, c.height, c.width, c.inChannels],
      [c.kernel[0], c.kernel[1], c.inChannels, c.outChannels],
      c.strides,
      c.dilations,
      c.pad,
      undefined,
      depthwise,
    );
    return info.outShape;
  } catch {
    return undefined;
  }
}

export function randomConvCases(seed: number, count: number, depthwise: boolean): ConvCase[] {
  const rng = new Rng(seed);
  const cases: ConvCase[] = [];
  while (cases.length < count) {
    const kernel = rng.pick(KERNELS);
    const dilate = rng.bernoulli(0.25) && (kernel[0] > 1 || kernel[1] > 1);
    const c: ConvCase = {
      label: `random#${cases.length}`,
      batch: rng.int(1, 3),
      height: rng.int(1, 13),
      width: rng.int(1, 13),
      inChannels: rng.int(1, 5),
      outChannels: depthwise ? rng.int(1, 2) : rng.int(1, 6),
      kernel,
      strides: [rng.int(1, 3), rng.int(1, 3)],
      dilations: dilate ? [rng.int(1, 2), 2] : [1, 1],
      pad:
        rng.pick(['same', 'valid', 'explicit'] as const) === 'explicit'
          ? [
              [0, 0],
              [rng.int(0, 2), rng.int(0, 2)],
              [rng.int(0, 2), rng.int(0, 2)],
              [0, 0],
            ]
          : rng.pick(['same', 'valid'] as const),
    };
    const out = outputSize(c, depthwise);
    if (!out || out.some((d) => d < 1)) continue;
    cases.push(c);
  }
  return cases;
}

/** Shapes that have tripped tfjs backends before, checked on every run. */
export function knownDefectCases(depthwise: boolean): ConvCase[] {
  const base = { batch: 2, inChannels: 3, outChannels: depthwise ? 2 : 4, dilations: [1, 1] as [number, number] };
  return [
    // tfjs #6629: depthwise 1xN, stride 2, 'same'.
    { ...base, label: 'tfjs#6629 1x3 s2 same', height: 7, width: 9, kernel: [1, 3], strides: [2, 2], pad: 'same' },
    { ...base, label: 'tfjs#6629 1x5 s2 same even', height: 8, width: 10, kernel: [1, 5], strides: [2, 2], pad: 'same' },
    // tfjs #5907: stride larger than the input.
    { ...base, label: 'tfjs#5907 stride > input', height: 2, width: 2, kernel: [1, 1], strides: [3, 3], pad: 'same' },
    { ...base, label: 'tfjs#5907 3x3 s3 on 2x2', height: 2, width: 2, kernel: [3, 3], strides: [3, 3], pad: 'same' },
    // Stride and dilation together (only reachable at kernel level in tfjs).
    { ...base, label: 'stride and dilation', height: 11, width: 10, kernel: [3, 3], strides: [2, 2], dilations: [2, 2], pad: 'same' },
    // Even sizes, even kernel, asymmetric 'same' padding.
    { ...base, label: 'even kernel same', height: 6, width: 6, kernel: [2, 2], strides: [1, 1], pad: 'same' },
    // A MobileNetV2/ResNet-like shape.
    { ...base, label: 'net-like 3x3 s2', batch: 4, height: 16, width: 16, inChannels: 8, kernel: [3, 3], strides: [2, 2], pad: 'same' },
  ];
}
