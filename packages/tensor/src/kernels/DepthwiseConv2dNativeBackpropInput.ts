import {
  backend_util,
  DepthwiseConv2dNativeBackpropInput,
  type DepthwiseConv2dNativeBackpropInputAttrs,
  type DepthwiseConv2dNativeBackpropInputInputs,
  type KernelConfig,
  type KernelFunc,
} from '@tensorflow/tfjs';

import type { Backend, Inputs } from './compose.js';
import { depthwiseInputGrad } from './conv_grad.js';

/** Input gradient of a depthwise conv on wasm: a depthwise conv of the expanded dy with the flipped filter. */
function depthwiseConv2dNativeBackpropInput(args: {
  inputs: DepthwiseConv2dNativeBackpropInputInputs;
  backend: Backend;
  attrs: DepthwiseConv2dNativeBackpropInputAttrs;
}) {
  const { inputs, backend, attrs } = args;
  const { dy, filter } = inputs as unknown as Inputs<'dy' | 'filter'>;
  const { strides, dilations, pad, dimRoundingMode, inputShape } = attrs;
  const info = backend_util.computeConv2DInfo(inputShape, filter.shape as [number, number, number, number], strides, dilations, pad, dimRoundingMode, true);
  return depthwiseInputGrad(backend, dy, filter, info);
}

export const depthwiseConv2dNativeBackpropInputConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropInput,
  backendName: 'wasm',
  kernelFunc: depthwiseConv2dNativeBackpropInput as unknown as KernelFunc,
};
