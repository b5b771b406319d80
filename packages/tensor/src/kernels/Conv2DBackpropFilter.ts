import {
  backend_util,
  Conv2DBackpropFilter,
  type Conv2DBackpropFilterAttrs,
  type Conv2DBackpropFilterInputs,
  type KernelConfig,
  type KernelFunc,
} from '@tensorflow/tfjs';

import { assertChannelsLast, type Backend, type Inputs } from './compose.js';
import { conv2DFilterGrad } from './conv_grad.js';

/** Filter gradient of Conv2D on wasm, as an XNNPACK convolution (see conv_grad.ts). */
function conv2DBackpropFilter(args: {
  inputs: Conv2DBackpropFilterInputs;
  backend: Backend;
  attrs: Conv2DBackpropFilterAttrs & { dilations?: number | [number, number] };
}) {
  const { inputs, backend, attrs } = args;
  const { x, dy } = inputs as unknown as Inputs<'x' | 'dy'>;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  assertChannelsLast(Conv2DBackpropFilter, dataFormat);
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    attrs.dilations ?? 1,
    pad,
    dimRoundingMode,
    false,
  );
  return conv2DFilterGrad(backend, x, dy, info);
}

export const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter as unknown as KernelFunc,
};
