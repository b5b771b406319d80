import {
  backend_util,
  Conv2DBackpropInput,
  type Conv2DBackpropInputAttrs,
  type Conv2DBackpropInputInputs,
  type KernelConfig,
  type KernelFunc,
} from '@tensorflow/tfjs';

import { assertChannelsLast, type Backend, type Inputs } from './compose.js';
import { conv2DInputGrad } from './conv_grad.js';

/**
 * Input gradient of Conv2D on wasm. Replaces the built-in wasm kernel, a scalar C++ loop, with an
 * XNNPACK convolution of the zero-inserted output gradient with the flipped filter.
 */
function conv2DBackpropInput(args: {
  inputs: Conv2DBackpropInputInputs;
  backend: Backend;
  attrs: Conv2DBackpropInputAttrs & { dilations?: number | [number, number] };
}) {
  const { inputs, backend, attrs } = args;
  const { dy, filter } = inputs as unknown as Inputs<'dy' | 'filter'>;
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs;
  assertChannelsLast(Conv2DBackpropInput, dataFormat);
  const info = backend_util.computeConv2DInfo(
    inputShape,
    filter.shape as [number, number, number, number],
    strides,
    attrs.dilations ?? 1,
    pad,
    dimRoundingMode,
    false,
  );
  return conv2DInputGrad(backend, dy, filter, info);
}

export const conv2DBackpropInputConfig: KernelConfig = {
  kernelName: Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropInput as unknown as KernelFunc,
};
