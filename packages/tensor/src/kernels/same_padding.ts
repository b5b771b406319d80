/**
 * tfjs-backend-wasm hands 'same' padding to XNNPACK as its TensorFlow-SAME flag, which gives wrong
 * results for non-square kernels (1xN, Nx1) with stride > 1 (tfjs #6629; Saccade's property tests
 * found it for regular convs too): output positions whose window starts in the padding come out as
 * zeros. Saccade's forward convolution kernels on wasm compute the 'same' pads themselves and pass
 * them as explicit padding, which XNNPACK handles correctly; everything else goes through untouched.
 */
import { backend_util, type KernelConfig, type KernelFunc, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs';

import { wrapKernel } from './compose.js';

export function withExplicitSamePadding(original: KernelConfig, depthwise: boolean): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const attrs = args.attrs as NamedAttrMap & {
      pad: unknown;
      strides: number | [number, number];
      dilations?: number | [number, number];
      dimRoundingMode?: 'floor' | 'round' | 'ceil';
    };
    if (attrs.pad !== 'same') return original.kernelFunc(args);
    const x = args.inputs['x'] as TensorInfo;
    const filter = args.inputs['filter'] as TensorInfo;
    const info = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filter.shape as [number, number, number, number],
      attrs.strides,
      attrs.dilations ?? 1,
      'same',
      attrs.dimRoundingMode,
      depthwise,
    );
    const { top, bottom, left, right } = info.padInfo;
    const explicit = [
      [0, 0],
      [top, bottom],
      [left, right],
      [0, 0],
    ];
    return original.kernelFunc({ ...args, attrs: { ...attrs, pad: explicit } as unknown as NamedAttrMap });
  };
  return wrapKernel(original, kernelFunc);
}
