import {
  backend_util,
  DepthwiseConv2dNativeBackpropFilter,
  type DepthwiseConv2dNativeBackpropFilterAttrs,
  type DepthwiseConv2dNativeBackpropFilterInputs,
  type KernelConfig,
  type KernelFunc,
} from '@tensorflow/tfjs';

import type { Backend, Inputs } from './compose.js';
import { depthwiseFilterGrad } from './conv_grad.js';

/**
 * Filter gradient of a depthwise conv on wasm: a depthwise XNNPACK convolution over (channel,
 * batch) pairs whose taps are the output positions, then a sum over the batch (see conv_grad.ts).
 */
function depthwiseConv2dNativeBackpropFilter(args: {
  inputs: DepthwiseConv2dNativeBackpropFilterInputs;
  backend: Backend;
  attrs: DepthwiseConv2dNativeBackpropFilterAttrs;
}) {
  const { inputs, backend, attrs } = args;
  const { x, dy } = inputs as unknown as Inputs<'x' | 'dy'>;
  const { strides, dilations, pad, dimRoundingMode, filterShape } = attrs;
  const info = backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, dilations, pad, dimRoundingMode, true);
  return depthwiseFilterGrad(backend, x, dy, info);
}

export const depthwiseConv2dNativeBackpropFilterConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropFilter,
  backendName: 'wasm',
  kernelFunc: depthwiseConv2dNativeBackpropFilter as unknown as KernelFunc,
};
